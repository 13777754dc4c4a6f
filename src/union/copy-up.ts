// Copy-up: makes the upper copy of one lower entry (file, symlink, special
// file, or an empty directory), with data, owner, mode, nanosecond times,
// xattrs and symlink target. As kernel overlayfs does, a regular file is
// built as an unnamed O_TMPFILE file in the work dir, synced, then linked
// into place; anything else (and a file where the work dir has no O_TMPFILE)
// under a temp name in the work dir, renamed into place. Either way a crash
// never leaves a partial entry visible. The unnamed file is also the cheaper
// one to sync: no directory entry to write with it (on ext4 without a
// journal, fsync writes a new file's directory too).
// This file decides what the copy gets; files and directories are then made
// by one native call (native/copy-up.h) instead of a dozen, a synced or big
// file's as one job on the libuv pool. Symlinks and special files are rare
// and stay here.
// The caller has made the parent's upper dir exist and serialises copy-ups
// per node.
import { native, C, S_MODE, S_UID, S_GID, S_RDEV, S_SIZE, S_ATIME, S_ATIME_NS, S_MTIME, S_MTIME_NS, type RawStat, type CopyUpJob } from '../native/binding.js'
import type { LayerSource } from './layer-source.js'
import type { UpperDir } from './upper-dir.js'
import { ORIGIN_XATTR, S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, isPrivateXattr } from './whiteout.js'
import { backingMode, formatOverride } from './stat-override.js'

/** Bigger copies go to the libuv pool even unsynced (native/copy-up.h). */
const INLINE_COPY_MAX = 1 << 20

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

/** A lower entry's xattrs to copy, overlay-private ones left out, in the order to set them. */
function lowerXattrs (src: CopyUpSource): string[] {
  const names = src.layer.listxattr(src.dir, src.name).filter((x) => !isPrivateXattr(x) && !(src.hidden?.has(x) ?? false))
  // security.capability is dropped by chown: it goes after it, and last.
  return names.sort((a, b) => Number(a === 'security.capability') - Number(b === 'security.capability'))
}

/** The copy's own mode bits: the lower's, or under an override the backing ones. */
function copyMode (upper: UpperDir, st: RawStat): number {
  return upper.override === null ? st[S_MODE] & 0o7777 : backingMode(st[S_MODE])
}

/** Copies xattrs from a lower entry to (dir, name). */
function copyXattrs (src: CopyUpSource, dir: number, name: string): void {
  for (const x of lowerXattrs(src)) {
    const v = src.layer.getxattr(src.dir, src.name, x)
    if (v !== null) native.setxattr(dir, name, x, v, 0)
  }
}

/**
 * The job for a file's or directory's copy-up: owner, xattrs, mode and
 * times. Under an override (the daemon may be unable to chown) the owner
 * and mode are a record among the xattrs, the backing entry left the
 * daemon's own.
 */
function jobFor (src: CopyUpSource, upper: UpperDir, upperParent: number, tmpName: string): CopyUpJob {
  const { st } = src
  const xattrNames: string[] = []
  const xattrValues: Buffer[] = []
  if (upper.override !== null) {
    xattrNames.push(upper.override)
    xattrValues.push(formatOverride(st[S_UID], st[S_GID], st[S_MODE]))
  }
  for (const x of lowerXattrs(src)) {
    const v = src.layer.getxattr(src.dir, src.name, x)
    if (v === null) continue
    xattrNames.push(x)
    xattrValues.push(v)
  }
  xattrNames.push(ORIGIN_XATTR)
  xattrValues.push(Buffer.from(String(src.origin)))
  return {
    work: upper.work,
    tmpName,
    parent: upperParent,
    name: src.name,
    chown: upper.override === null,
    uid: st[S_UID],
    gid: st[S_GID],
    xattrNames,
    xattrValues,
    mode: copyMode(upper, st),
    atime: st[S_ATIME],
    atimeNs: st[S_ATIME_NS],
    mtime: st[S_MTIME],
    mtimeNs: st[S_MTIME_NS]
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

/** Makes the copy; resolves to the new upper dir open where the entry is a directory, else -1. */
export async function copyUp (src: CopyUpSource, upper: UpperDir, upperParent: number, dataLength = -1): Promise<number> {
  const { st } = src
  const type = st[S_MODE] & S_IFMT
  const tmp = upper.tmpName()
  try {
    if (type === S_IFDIR) return native.copyUpDir(jobFor(src, upper, upperParent, tmp))
    if (type === S_IFREG) {
      await copyUpFile(src, upper, upperParent, tmp, dataLength)
      return -1
    }
    copyUpOther(src, upper, upperParent, tmp)
    return -1
  } catch (err) {
    upper.removeInWork(tmp)
    throw err
  }
}

async function copyUpFile (src: CopyUpSource, upper: UpperDir, upperParent: number, tmp: string, dataLength: number): Promise<void> {
  const { st } = src
  const len = dataLength < 0 ? st[S_SIZE] : Math.min(dataLength, st[S_SIZE])
  const job = jobFor(src, upper, upperParent, tmp)
  const from = len > 0 ? await src.layer.open(src.dir, src.name, C.O_RDONLY) : -1
  try {
    const fileJob = { ...job, from, length: len, tmpfile: upper.tmpfile, sync: len > 0 && upper.durable }
    const refused = fileJob.sync || len > INLINE_COPY_MAX ? await native.copyUpFile(fileJob) : native.copyUpFileSync(fileJob)
    if (refused) upper.tmpfile = false
  } catch (err) {
    if ((err as { tmpfileRefused?: boolean }).tmpfileRefused === true) upper.tmpfile = false
    throw err
  } finally {
    if (from >= 0) native.close(from)
  }
}

/** A symlink or special file: made as tmp in the work dir, renamed into place. */
function copyUpOther (src: CopyUpSource, upper: UpperDir, upperParent: number, tmp: string): void {
  const { st } = src
  const type = st[S_MODE] & S_IFMT
  const w = upper.work
  const parentTimes = native.fstat(upperParent)
  if (type === S_IFLNK) native.symlinkat(src.layer.readlink(src.dir, src.name), w, tmp)
  else native.mknodat(w, tmp, type | 0o600, st[S_RDEV])
  setOwner(upper, w, tmp, st)
  copyXattrs(src, w, tmp)
  // user.overlay.* (userxattr) cannot be set on a symlink or device.
  if (!ORIGIN_XATTR.startsWith('user.')) native.setxattr(w, tmp, ORIGIN_XATTR, Buffer.from(String(src.origin)), 0)
  if (type !== S_IFLNK) native.fchmodat(w, tmp, copyMode(upper, st))
  native.utimensat(w, tmp, st[S_ATIME], st[S_ATIME_NS], st[S_MTIME], st[S_MTIME_NS], C.AT_SYMLINK_NOFOLLOW)
  native.renameat2(w, tmp, upperParent, src.name, C.RENAME_NOREPLACE)
  // The parent's times are the merged view's: a copy-up must not move them.
  native.futimens(upperParent, parentTimes[S_ATIME], parentTimes[S_ATIME_NS], parentTimes[S_MTIME], parentTimes[S_MTIME_NS])
}
