// Writes a directory in overlay format (an upper dir, an extracted layer) as
// an OCI layer tar: whiteouts (char 0/0) become `.wh.NAME`, an opaque
// directory is followed at once by its `.wh..wh..opq` (before any of its
// children), hard links stay links, xattrs travel as SCHILY.xattr.* (the
// overlay's own trusted.overlay.* are left out), devices, FIFOs, owners,
// setuid bits and nanosecond mtimes are kept. Deterministic: entries sorted
// by name bytes, no atime/ctime, no user or group names, whiteout markers
// dated 0 — the same tree always gives the same bytes (the same DiffID).
//
// OCI layers cannot say "this directory's lower content is elsewhere", so a
// renamed directory (trusted.overlay.redirect, redirect_dir=on) goes in as
// what the merged view shows there: an opaque directory holding its whole
// merged content, read through a read-only union of the upper over the
// image's layers. Only such directories pay for that union; a tree without
// redirects is written exactly as before.
import fs from 'node:fs'
import { promisify } from 'node:util'
import type { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import {
  native, C, S_DEV, S_INO, S_MODE, S_NLINK, S_UID, S_GID, S_RDEV, S_SIZE, S_MTIME, S_MTIME_NS, type RawStat,
} from '../native/binding.js'
import { OPAQUE_XATTR, REDIRECT_XATTR, OCI_OPAQUE, OCI_WHITEOUT_PREFIX, S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, isPrivateXattr, isWhiteout } from '../union/whiteout.js'
import { TarWriter } from './tar-writer.js'
import { errnoError } from '../base/errno-error.js'
import { emptyHeader, type TarHeader, type TarType } from './tar-header.js'
import { UnionFs, ROOT_ID, type Entry } from '../union/union-fs.js'
import { DirLayer } from '../union/dir-layer.js'

const read = promisify(fs.read)
const byBytes = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export interface ArchiveStats {
  entries: number
  bytes: number
}

async function * fileData (fd: number, size: number): AsyncGenerator<Buffer> {
  let pos = 0
  while (pos < size) {
    const buf = Buffer.allocUnsafe(Math.min(1 << 20, size - pos))
    const { bytesRead } = await read(fd, buf, 0, buf.length, pos)
    if (bytesRead === 0) break
    pos += bytesRead
    yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead)
  }
}

function typeOf (mode: number): TarType | null {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'file'
    case S_IFDIR: return 'dir'
    case S_IFLNK: return 'symlink'
    case S_IFCHR: return 'char'
    case S_IFBLK: return 'block'
    case S_IFIFO: return 'fifo'
    default: return null // sockets do not go into layers
  }
}

export interface ArchiveOptions {
  /**
   * The layer dirs `dir` is an upper over, top first: needed to write a
   * renamed directory's content, so asked for only when one is met (a
   * commit without redirects never needs its image's layers complete).
   * Without them a redirect is refused (EXDEV).
   */
  lowers?: () => string[]
  onProgress?: (s: ArchiveStats) => void
}

/** Streams the tree under `dir` as a layer tar into `out` (not ended). */
export async function archiveLayer (dir: string, out: Writable, opts: ArchiveOptions = {}): Promise<ArchiveStats> {
  const { lowers, onProgress } = opts
  const tar = new TarWriter(out)
  const links = new Map<string, string>()
  const stats: ArchiveStats = { entries: 0, bytes: 0 }
  const root = native.openat(C.AT_FDCWD, dir, C.O_RDONLY | C.O_DIRECTORY, 0)

  /** A regular file with its data (from the fd `open` gives), or a device node or FIFO. */
  const addFileOrNode = async (h: TarHeader, type: TarType, st: RawStat, open: () => number | Promise<number>): Promise<void> => {
    if (type === 'file') {
      h.size = st[S_SIZE]
      const f = await open()
      try {
        await tar.add(h, fileData(f, h.size))
      } finally {
        native.close(f)
      }
      stats.bytes += h.size
      return
    }
    if (type !== 'fifo') {
      h.devmajor = Math.floor(st[S_RDEV] / 256) & 0xfff // glibc major(): bits 8-19 (and 32+)
      h.devminor = (st[S_RDEV] & 0xff) | (Math.floor(st[S_RDEV] / 4096) & 0xfff00)
    }
    await tar.add(h)
  }

  /** A file met again by its (dev, ino) `key` goes in as a hard link to its first path; true when it did. */
  const addAsLink = async (h: TarHeader, key: string, path: string): Promise<boolean> => {
    const first = links.get(key)
    if (first === undefined) {
      links.set(key, path)
      return false
    }
    h.type = 'link'
    h.linkname = first
    h.xattrs.clear()
    await tar.add(h)
    return true
  }

  const header = (path: string, type: TarType, st: RawStat, dirfd: number, name: string): TarHeader => {
    const h = emptyHeader(path, type)
    h.mode = st[S_MODE] & 0o7777
    h.uid = st[S_UID]
    h.gid = st[S_GID]
    h.mtimeSec = st[S_MTIME]
    h.mtimeNsec = st[S_MTIME_NS]
    for (const x of native.listxattr(dirfd, name)) {
      if (isPrivateXattr(x)) continue
      const v = native.getxattr(dirfd, name, x)
      if (v !== null) h.xattrs.set(x, v)
    }
    return h
  }

  const walk = async (fd: number, prefix: string): Promise<void> => {
    for (const name of native.readdir(fd)[0].sort(byBytes)) {
      const st = native.fstatat(fd, name, C.AT_SYMLINK_NOFOLLOW)
      const path = prefix + name
      stats.entries++
      if (isWhiteout(st)) {
        await tar.add(emptyHeader(prefix + OCI_WHITEOUT_PREFIX + name, 'file'))
        continue
      }
      const type = typeOf(st[S_MODE])
      if (!type) continue
      const h = header(type === 'dir' ? path + '/' : path, type, st, fd, name)
      if (type === 'dir') {
        await tar.add(h)
        const sub = native.openat(fd, name, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW, 0)
        try {
          if (native.getxattr(sub, '', REDIRECT_XATTR) !== null) {
            // Its lower contents are not in this tree; without the lowers a
            // layer made from it would lose them. Refuse rather than lose data.
            if (!lowers) throw errnoError('EXDEV', `${path}: a renamed directory (${REDIRECT_XATTR}) needs the image's layers to go into a layer`)
            await tar.add(emptyHeader(path + '/' + OCI_OPAQUE, 'file'))
            const u = merged(lowers)
            await walkMerged(u, lookupPath(u, path), path + '/')
            continue
          }
          const opq = native.getxattr(sub, '', OPAQUE_XATTR)
          if (opq !== null && opq.toString() === 'y') await tar.add(emptyHeader(path + '/' + OCI_OPAQUE, 'file'))
          await walk(sub, path + '/')
        } finally {
          native.close(sub)
        }
        continue
      }
      if (type !== 'symlink' && st[S_NLINK] > 1) {
        if (await addAsLink(h, `${st[S_DEV]}:${st[S_INO]}`, path)) continue
      }
      if (type === 'symlink') {
        h.linkname = native.readlinkat(fd, name)
        await tar.add(h)
      } else {
        await addFileOrNode(h, type, st, () => native.openat(fd, name, C.O_RDONLY | C.O_NOFOLLOW, 0))
      }
      onProgress?.(stats)
    }
  }

  // The merged view, made at the first redirect met: the upper as the top
  // layer (read-only, nothing written to it or a work dir) over the lowers;
  // the union follows the upper's redirects as it follows a layer's.
  const made: UnionFs[] = []
  const merged = (layers: () => string[]): UnionFs => {
    if (made.length === 0) made.push(new UnionFs([new DirLayer(dir), ...layers().map((l) => new DirLayer(l))], null))
    return made[0]
  }

  const lookupPath = (u: UnionFs, path: string): number => {
    let id = ROOT_ID
    for (const part of path.split('/')) {
      const e = u.lookup(id, part)
      if (!e) throw errnoError('ENOENT', `${path}: not in the merged view of ${dir}`)
      id = e.node.id
    }
    return id
  }

  // Everything under merged directory `id`, as new entries of this layer
  // (its parent was written opaque, so nothing below it needs whiteouts).
  const walkMerged = async (u: UnionFs, id: number, prefix: string): Promise<void> => {
    const h = u.opendir(id)
    const names = [...u.dirHandle(h).listing.names].sort(byBytes)
    u.releasedir(h)
    for (const name of names) {
      const e = u.lookup(id, name)
      if (!e) continue
      try {
        await mergedEntry(u, e, prefix + name)
      } finally {
        // Forgotten at once: a node holds its lower dirs open.
        u.forget(e.node.id, 1)
      }
    }
  }

  const mergedEntry = async (u: UnionFs, e: Entry, path: string): Promise<void> => {
    const st = e.attr
    stats.entries++
    const type = typeOf(st[S_MODE])
    if (!type) return
    const h = emptyHeader(type === 'dir' ? path + '/' : path, type)
    h.mode = st[S_MODE] & 0o7777
    h.uid = st[S_UID]
    h.gid = st[S_GID]
    h.mtimeSec = st[S_MTIME]
    h.mtimeNsec = st[S_MTIME_NS]
    for (const x of u.listxattr(e.node.id)) h.xattrs.set(x, u.getxattr(e.node.id, x))
    if (type === 'dir') {
      await tar.add(h)
      await walkMerged(u, e.node.id, path + '/')
      return
    }
    if (type !== 'symlink' && st[S_NLINK] > 1) {
      // Keyed by the real file, as in walk(), so that links between this
      // subtree and the rest of the upper stay links.
      const at = u.lowerLocation(e.node)
      const raw = at ? native.fstatat(at.dirfd, at.name, C.AT_SYMLINK_NOFOLLOW) : st
      if (await addAsLink(h, `${raw[S_DEV]}:${raw[S_INO]}`, path)) return
    }
    if (type === 'symlink') {
      h.linkname = u.readlink(e.node.id)
      await tar.add(h)
    } else {
      await addFileOrNode(h, type, st, async () => (await u.open(e.node.id, C.O_RDONLY)).fd)
    }
    onProgress?.(stats)
  }

  try {
    await walk(root, '')
    await tar.finish()
  } finally {
    native.close(root)
    for (const u of made) for (const l of u.layers) native.close(l.root)
  }
  return stats
}

/** archiveLayer into a new file. */
export async function archiveLayerToFile (dir: string, file: string, opts: ArchiveOptions = {}): Promise<ArchiveStats> {
  const ws = fs.createWriteStream(file, { flags: 'wx' })
  try {
    const stats = await archiveLayer(dir, ws, opts)
    ws.end()
    await finished(ws)
    return stats
  } catch (err) {
    ws.destroy()
    throw err
  }
}
