// Copy-up: makes the upper copy of one lower entry (file, symlink, special
// file, or an empty directory), with data, owner, mode, nanosecond times,
// xattrs and symlink target. As kernel overlayfs does, a regular file is
// built as an unnamed O_TMPFILE file in the work dir, synced, then linked
// into place; anything else (and a file where the work dir has no O_TMPFILE)
// under a temp name in the work dir, renamed into place. Either way a crash
// never leaves a partial entry visible. The unnamed file is also the cheaper
// one to sync: no directory entry to write with it (on ext4 without a
// journal, fsync writes a new file's directory too).
// The caller has made the parent's upper dir exist and serialises copy-ups
// per node. Big files copy on the libuv pool (reflink or copy_file_range
// first) so that one large copy-up never stalls other requests.
import { promisify } from 'node:util'
import fs from 'node:fs'
import { native, C, S_MODE, S_UID, S_GID, S_RDEV, S_SIZE, S_ATIME, S_ATIME_NS, S_MTIME, S_MTIME_NS, type RawStat } from '../native/binding.js'
import type { LayerSource } from './layer-source.js'
import type { UpperDir } from './upper-dir.js'
import { ORIGIN_XATTR, S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, isPrivateXattr } from './whiteout.js'
import { backingMode, formatOverride } from './stat-override.js'

const fsyncAsync = promisify(fs.fsync)
const INLINE_COPY_MAX = 1 << 20
/** What openat(O_TMPFILE) answers where the filesystem cannot make one. */
const NO_TMPFILE = new Set(['EOPNOTSUPP', 'EISDIR', 'EINVAL'])

export interface CopyUpSource {
  layer: LayerSource
  dir: number
  name: string
  st: RawStat
  /** The st_ino the entry had before copy-up, kept as its origin. */
  origin: number
  /** Xattrs not to copy (override records: the copy gets its own owner record, or real owner). */
  hidden?: Set<string>
}

/** Copies xattrs from a lower entry to (dir, name) (name '': the file open as dir), leaving out overlay-private ones. */
function copyXattrs (src: CopyUpSource, dir: number, name: string): void {
  const names = src.layer.listxattr(src.dir, src.name).filter((x) => !isPrivateXattr(x) && !(src.hidden?.has(x) ?? false))
  // security.capability is dropped by chown: it goes after it, and last.
  names.sort((a, b) => Number(a === 'security.capability') - Number(b === 'security.capability'))
  for (const x of names) {
    const v = src.layer.getxattr(src.dir, src.name, x)
    if (v !== null) native.setxattr(dir, name, x, v, 0)
  }
}

/**
 * Gives the copy its owner and mode: real ones, or under an override (the
 * daemon may be unable to chown) a record of them with the backing file
 * left the daemon's own. user.* records exist only on files and directories.
 * name '': the copy is the file open as dir.
 */
function setOwner (upper: UpperDir, dir: number, name: string, st: RawStat): void {
  const type = st[S_MODE] & S_IFMT
  if (upper.override === null) {
    if (name === '') native.fchown(dir, st[S_UID], st[S_GID])
    else native.fchownat(dir, name, st[S_UID], st[S_GID], C.AT_SYMLINK_NOFOLLOW)
    return
  }
  try {
    native.setxattr(dir, name, upper.override, formatOverride(st[S_UID], st[S_GID], st[S_MODE]), 0)
  } catch (err) {
    if (type === S_IFREG || type === S_IFDIR) throw err
  }
}

/**
 * The file a regular copy is built in: unnamed where the work dir's
 * filesystem allows (upper.tmpfile; the first refusal turns it off), else
 * `tmp` in the work dir.
 */
function openCopy (upper: UpperDir, tmp: string): { fd: number, named: boolean } {
  if (upper.tmpfile) {
    try {
      return { fd: native.openTmpfile(upper.work, 0o600), named: false }
    } catch (err) {
      if (!NO_TMPFILE.has((err as { code?: string }).code ?? '')) throw err
      upper.tmpfile = false
    }
  }
  return { fd: native.openat(upper.work, tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600), named: true }
}

export async function copyUp (src: CopyUpSource, upper: UpperDir, upperParent: number, dataLength = -1): Promise<void> {
  const { st } = src
  const type = st[S_MODE] & S_IFMT
  const mode = upper.override === null ? st[S_MODE] & 0o7777 : backingMode(st[S_MODE])
  const tmp = upper.tmpName()
  const w = upper.work
  const parentTimes = native.fstat(upperParent)
  try {
    if (type === S_IFREG) {
      const len = dataLength < 0 ? st[S_SIZE] : Math.min(dataLength, st[S_SIZE])
      const dst = openCopy(upper, tmp)
      // The copy by name: the temp one, or none (the open file itself).
      const [d, n] = dst.named ? [w, tmp] : [dst.fd, '']
      try {
        if (len > 0) {
          const from = await src.layer.open(src.dir, src.name, C.O_RDONLY)
          try {
            if (len <= INLINE_COPY_MAX) native.copyData(from, dst.fd, len)
            else await native.copyDataAsync(from, dst.fd, len)
          } finally {
            native.close(from)
          }
        }
        setOwner(upper, d, n, st)
        copyXattrs(src, d, n)
        native.setxattr(d, n, ORIGIN_XATTR, Buffer.from(String(src.origin)), 0)
        native.fchmod(dst.fd, mode)
        native.futimens(dst.fd, st[S_ATIME], st[S_ATIME_NS], st[S_MTIME], st[S_MTIME_NS])
        // As kernel overlayfs does: the copy is durable before it is visible.
        if (len > 0 && upper.durable) await fsyncAsync(dst.fd)
        if (!dst.named) native.linkTmpfile(dst.fd, upperParent, src.name)
      } finally {
        native.close(dst.fd)
      }
      if (dst.named) native.renameat2(w, tmp, upperParent, src.name, C.RENAME_NOREPLACE)
    } else {
      if (type === S_IFDIR) native.mkdirat(w, tmp, 0o700)
      else if (type === S_IFLNK) native.symlinkat(src.layer.readlink(src.dir, src.name), w, tmp)
      else native.mknodat(w, tmp, type | 0o600, st[S_RDEV])
      setOwner(upper, w, tmp, st)
      copyXattrs(src, w, tmp)
      // user.overlay.* (userxattr) cannot be set on a symlink or device.
      if (type === S_IFDIR || !ORIGIN_XATTR.startsWith('user.')) native.setxattr(w, tmp, ORIGIN_XATTR, Buffer.from(String(src.origin)), 0)
      if (type !== S_IFLNK) native.fchmodat(w, tmp, mode)
      native.utimensat(w, tmp, st[S_ATIME], st[S_ATIME_NS], st[S_MTIME], st[S_MTIME_NS], C.AT_SYMLINK_NOFOLLOW)
      native.renameat2(w, tmp, upperParent, src.name, C.RENAME_NOREPLACE)
    }
  } catch (err) {
    upper.removeInWork(tmp)
    throw err
  }
  // The parent's times are the merged view's: a copy-up must not move them.
  native.futimens(upperParent, parentTimes[S_ATIME], parentTimes[S_ATIME_NS], parentTimes[S_MTIME], parentTimes[S_MTIME_NS])
}
