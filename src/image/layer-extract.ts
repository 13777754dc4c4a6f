// Applies one OCI layer tar to an empty directory, producing the layer in
// kernel overlayfs format: `.wh.NAME` becomes a char 0/0 whiteout at NAME,
// `.wh..wh..opq` marks its directory opaque (trusted.overlay.opaque=y).
//
// Safety: every path is checked before anything is written (no "..", no
// absolute paths, no empty or NUL components), and parents are walked one
// name at a time with O_NOFOLLOW from the root fd, so no symlink — in the
// archive or already on disk — can lead a write, a hard link or a whiteout
// outside the layer. The caller extracts into a fresh temp dir and renames
// it into place only on success, so a refused archive leaves nothing.
import fs from 'node:fs'
import { promisify } from 'node:util'
import { native, C, S_MODE } from '../native/binding.js'
import { errnoError } from '../base/errno-error.js'
import { OPAQUE_XATTR, OCI_OPAQUE, OCI_WHITEOUT_PREFIX, S_IFCHR, S_IFBLK, S_IFDIR, S_IFIFO, S_IFMT, isPrivateXattr } from '../union/whiteout.js'
import { removeTree } from '../base/remove-tree.js'
import { isRealRoot } from '../base/real-root.js'
import { readTar } from './tar-reader.js'
import { killPoint } from '../base/kill-point.js'
import type { TarHeader } from './tar-header.js'

const write = promisify(fs.write)
const unprivileged = !isRealRoot()
/** Runs `f`, ignoring a refusal that only privilege would lift. */
const tolerate = (f: () => void): void => {
  try { f() } catch (e) { if (!['EPERM', 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP'].includes((e as { code?: string }).code ?? '')) throw e }
}

/** Splits and checks an archive path; the error names the entry. */
export function safeParts (p: string, what = 'entry'): string[] {
  if (p.startsWith('/')) throw errnoError('EPERM', `layer tar: absolute path in ${what} "${p}"`)
  const parts = p.split('/').filter((x) => x !== '' && x !== '.')
  for (const x of parts) {
    if (x === '..') throw errnoError('EPERM', `layer tar: ".." in ${what} "${p}"`)
    if (x.includes('\0')) throw errnoError('EINVAL', `layer tar: NUL byte in ${what} "${p}"`)
    if (Buffer.byteLength(x, 'latin1') > 255) throw errnoError('ENAMETOOLONG', `layer tar: name too long in ${what} "${p}"`)
  }
  return parts
}

export interface ExtractStats {
  entries: number
  bytes: number
}

/**
 * Extracts `tar` into the empty directory `dest`. Owners, modes, nanosecond
 * mtimes, xattrs (not trusted.overlay.*), devices, FIFOs and hard links are
 * kept.
 */
export async function extractLayer (tar: AsyncIterable<Buffer>, dest: string, onProgress?: (s: ExtractStats) => void): Promise<ExtractStats> {
  const root = native.openat(C.AT_FDCWD, dest, C.O_RDONLY | C.O_DIRECTORY, 0)
  const open = new Map<string, number>([['', root]])
  const dirTimes: Array<{ parts: string[], h: TarHeader }> = []
  const stats: ExtractStats = { entries: 0, bytes: 0 }

  /** The fd of directory `parts` (made if missing), never through a symlink. */
  const dirFd = (parts: string[], what: string): number => {
    const key = parts.join('/')
    const known = open.get(key)
    if (known !== undefined) return known
    const parent = dirFd(parts.slice(0, -1), what)
    const name = parts[parts.length - 1]
    const st = native.lstatAtOrNull(parent, name)
    if (st === null) native.mkdirat(parent, name, 0o755)
    else if ((st[S_MODE] & S_IFMT) !== S_IFDIR) throw errnoError('ENOTDIR', `layer tar: ${what} goes through "${key}", which is not a directory`)
    const fd = native.openat(parent, name, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW, 0)
    open.set(key, fd)
    return fd
  }

  /** Clears `name` in `dir` unless both it and the newcomer are directories. */
  const clear = (dir: number, name: string, keepDir: boolean, key: string): void => {
    const st = native.lstatAtOrNull(dir, name)
    if (!st) return
    if ((st[S_MODE] & S_IFMT) === S_IFDIR) {
      if (keepDir) return
      const under = (k: string): boolean => k === key || k.startsWith(key + '/')
      for (const k of [...open.keys()]) {
        if (under(k)) { native.close(open.get(k)!); open.delete(k) }
      }
      for (let i = dirTimes.length - 1; i >= 0; i--) if (under(dirTimes[i].parts.join('/'))) dirTimes.splice(i, 1)
      removeTree(dir, name)
    } else {
      native.unlinkat(dir, name, 0)
    }
  }

  const meta = (dir: number, name: string, h: TarHeader, isLink: boolean): void => {
    if (unprivileged) {
      // As tar(1) without root and containers/storage's ignore_chown_errors:
      // a user's own store keeps entries as that user's, and leaves out
      // xattrs only root may set (trusted.*, security.capability).
      tolerate(() => { native.fchownat(dir, name, h.uid, h.gid, C.AT_SYMLINK_NOFOLLOW) })
      for (const [k, v] of h.xattrs) if (!isPrivateXattr(k)) tolerate(() => { native.setxattr(dir, name, k, v, 0) })
    } else {
      native.fchownat(dir, name, h.uid, h.gid, C.AT_SYMLINK_NOFOLLOW)
      for (const [k, v] of h.xattrs) if (!isPrivateXattr(k)) native.setxattr(dir, name, k, v, 0)
    }
    if (!isLink) native.fchmodat(dir, name, h.mode & 0o7777)
  }

  try {
    for await (const { header: h, body } of readTar(tar)) {
      stats.entries++
      const parts = safeParts(h.name)
      if (parts.length === 0) {
        // The root entry ("./"): its metadata is the layer dir's own.
        if (h.type === 'dir') dirTimes.push({ parts, h })
        continue
      }
      const name = parts[parts.length - 1]
      const parentParts = parts.slice(0, -1)
      const parent = dirFd(parentParts, `"${h.name}"`)
      const key = parts.join('/')
      if (name === OCI_OPAQUE) {
        native.setxattr(parent, '', OPAQUE_XATTR, Buffer.from('y'), 0)
        continue
      }
      if (name.startsWith(OCI_WHITEOUT_PREFIX)) {
        const target = name.slice(OCI_WHITEOUT_PREFIX.length)
        safeParts(target, `whiteout "${h.name}"`)
        if (target === '' || target === '.' || target === '..') throw errnoError('EPERM', `layer tar: bad whiteout "${h.name}"`)
        // A whiteout hides lower layers only: an entry of this same layer wins.
        if (native.lstatAtOrNull(parent, target) === null) native.mknodat(parent, target, S_IFCHR, 0)
        continue
      }
      switch (h.type) {
        case 'dir': {
          clear(parent, name, true, key)
          dirFd(parts, `"${h.name}"`)
          meta(parent, name, h, false)
          dirTimes.push({ parts, h })
          break
        }
        case 'file': {
          clear(parent, name, false, key)
          const fd = native.openat(parent, name, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600)
          try {
            // A sparse file's data goes to its regions; the rest stays holes.
            const regions = h.sparse?.map.filter(([, len]) => len > 0) ?? [[0, h.size] as [number, number]]
            let r = 0
            let within = 0
            for await (const chunk of body) {
              for (let off = 0; off < chunk.length;) {
                while (within === regions[r][1]) { r++; within = 0 }
                const n = Math.min(chunk.length - off, regions[r][1] - within)
                const wrote = (await write(fd, chunk, off, n, regions[r][0] + within)).bytesWritten
                off += wrote
                within += wrote
              }
              stats.bytes += chunk.length
            }
            if (h.sparse) {
              try {
                native.ftruncate(fd, h.sparse.realSize)
              } catch (err) {
                throw errnoError((err as { code?: string }).code ?? 'EIO', `layer tar: sparse file "${h.name}" of ${h.sparse.realSize} bytes: ${(err as Error).message}`)
              }
            }
          } finally {
            native.close(fd)
          }
          meta(parent, name, h, false)
          break
        }
        case 'symlink':
          clear(parent, name, false, key)
          native.symlinkat(h.linkname, parent, name)
          meta(parent, name, h, true)
          break
        case 'link': {
          const tparts = safeParts(h.linkname, `hard link "${h.name}"`)
          if (tparts.length === 0) throw errnoError('EPERM', `layer tar: hard link "${h.name}" to the layer root`)
          const tdir = dirFd(tparts.slice(0, -1), `hard link "${h.name}"`)
          const tname = tparts[tparts.length - 1]
          const tst = native.lstatAtOrNull(tdir, tname)
          if (!tst) throw errnoError('ENOENT', `layer tar: hard link "${h.name}" to "${h.linkname}", which is not in the layer (yet)`)
          if ((tst[S_MODE] & S_IFMT) === S_IFDIR) throw errnoError('EPERM', `layer tar: hard link "${h.name}" to a directory`)
          if (tparts.join('/') === key) break
          clear(parent, name, false, key)
          native.linkat(tdir, tname, parent, name, 0)
          break
        }
        case 'char': case 'block': case 'fifo': {
          clear(parent, name, false, key)
          const type = h.type === 'char' ? S_IFCHR : h.type === 'block' ? S_IFBLK : S_IFIFO
          if (h.type === 'char' && h.devmajor === 0 && h.devminor === 0) {
            throw errnoError('EPERM', `layer tar: "${h.name}" is a char device 0/0, which the overlay format reserves for whiteouts`)
          }
          native.mknodat(parent, name, type | 0o600, native.makedev(h.devmajor, h.devminor))
          meta(parent, name, h, false)
          break
        }
      }
      if (h.type !== 'dir' && h.type !== 'link') {
        native.utimensat(parent, name, h.mtimeSec, h.mtimeNsec, h.mtimeSec, h.mtimeNsec, C.AT_SYMLINK_NOFOLLOW)
      }
      onProgress?.(stats)
      killPoint('extract-entry')
    }
    // Directory times last, deepest first: making children moved them.
    for (const { parts, h } of dirTimes.sort((a, b) => b.parts.length - a.parts.length)) {
      const fd = dirFd(parts, 'a directory')
      native.futimens(fd, h.mtimeSec, h.mtimeNsec, h.mtimeSec, h.mtimeNsec)
      if (parts.length === 0) {
        if (unprivileged) tolerate(() => { native.fchown(fd, h.uid, h.gid) })
        else native.fchown(fd, h.uid, h.gid)
        native.fchmod(fd, h.mode & 0o7777)
      }
    }
  } finally {
    for (const fd of open.values()) native.close(fd)
  }
  return stats
}
