// LayerSource over a lazily pulled layer: a skeleton directory that already
// holds every entry with its final metadata (names, modes, owners, xattrs,
// hard links, whiteouts, sizes as sparse files) and whose regular files get
// their content on first open. A file still empty carries LAZY_XATTR (its
// name in the layer's table of contents); open() has the filler fetch and
// verify its bytes, writes them into the file, restores its times, then
// drops the mark, and only then hands out the read-only fd — so reads stay
// on the native data path (backing fds), with no JS per read.
//
// Why whole files at open rather than chunks at read: the FUSE data path
// reads backing fds in native code; serving reads through JS would slow
// every read of every layer, and most files a container opens are small.
// A big file costs its full fetch on first open (chunks in parallel).
//
// Invariants: a mark is dropped only after the content is written and
// fsynced, so a crash leaves it marked (fetched again, never half-trusted);
// bytes come only from the filler, which verifies every chunk against the
// TOC. Files are never opened natively (fdOf is -1), since the native fast
// path would read a file before it is filled. Several daemons may fill one
// layer at once: they write the same verified bytes.
import { native, C, S_ATIME, S_ATIME_NS, S_MTIME, S_MTIME_NS, type RawStat } from '../native/binding.js'
import { errnoError } from '../base/errno-error.js'
import { DirLayer } from './dir-layer.js'
import type { LayerSource } from './layer-source.js'

export const LAZY_XATTR = 'trusted.strata.lazy'

/**
 * Runs `write` on an open file and puts back any xattr the write made the
 * kernel drop (writing or truncating a file removes security.capability).
 */
export async function keepingXattrs (fd: number, write: () => Promise<void> | void): Promise<void> {
  const before = native.listxattr(fd, '').map((x) => [x, native.getxattr(fd, '', x)] as const)
  try {
    await write()
  } finally {
    // Also after a failed fill: the next try must still see them.
    for (const [x, v] of before) if (v !== null && native.getxattr(fd, '', x) === null) native.setxattr(fd, '', x, v, 0)
  }
}

export interface LazyFiller {
  /** Fetches the content of the file named `key` in the TOC, verified, through `write(bytes, position)`. */
  fill(key: string, write: (data: Buffer, position: number) => void): Promise<void>
  /** Files to fetch as soon as the layer is mounted (the TOC's prioritized files). */
  prefetch?(): string[]
}

export class LazyLayer implements LayerSource {
  readonly name: string
  readonly root: number
  readonly dev: number
  private readonly dir: DirLayer
  private readonly filling = new Map<string, Promise<void>>()
  private readonly failed = new Set<string>()

  constructor (path: string, private readonly filler: LazyFiller, private readonly log: (line: string) => void = (l) => process.stderr.write(l + '\n')) {
    this.dir = new DirLayer(path)
    this.name = path
    this.root = this.dir.root
    this.dev = this.dir.dev
  }

  lookup (dir: number, name: string): RawStat | null { return this.dir.lookup(dir, name) }
  statDir (dir: number): RawStat { return this.dir.statDir(dir) }
  openDir (dir: number, name: string): number { return this.dir.openDir(dir, name) }
  closeDir (dir: number): void { this.dir.closeDir(dir) }
  readdir (dir: number): [string[], Uint8Array, Float64Array] { return this.dir.readdir(dir) }
  readlink (dir: number, name: string): string { return this.dir.readlink(dir, name) }
  isOpaque (dir: number): boolean { return this.dir.isOpaque(dir) }
  statfs (): Float64Array { return this.dir.statfs() }
  fdOf (): number { return -1 }
  close (): void { this.dir.close() }

  getxattr (dir: number, name: string, xname: string): Buffer | null {
    return xname === LAZY_XATTR ? null : this.dir.getxattr(dir, name, xname)
  }

  listxattr (dir: number, name: string): string[] {
    return this.dir.listxattr(dir, name).filter((x) => x !== LAZY_XATTR)
  }

  async open (dir: number, name: string, flags: number): Promise<number> {
    const mark = native.getxattr(dir, name, LAZY_XATTR)
    if (mark !== null) await this.fillOnce(dir, name, mark.toString('utf8'))
    return this.dir.open(dir, name, flags)
  }

  /** Fetches the prioritized files (paths in the layer) now; a failure waits for a real open. */
  async prefetchPaths (paths: string[]): Promise<void> {
    await Promise.allSettled(paths.map(async (p) => {
      const parts = p.split('/')
      const dirs: number[] = []
      try {
        let dir = this.root
        for (const d of parts.slice(0, -1)) {
          dir = native.openat(dir, d, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW, 0)
          dirs.push(dir)
        }
        const name = parts[parts.length - 1]
        const mark = native.getxattr(dir, name, LAZY_XATTR)
        if (mark !== null) await this.fillOnce(dir, name, mark.toString('utf8'))
      } finally {
        for (const fd of dirs) native.close(fd)
      }
    }))
  }

  private fillOnce (dir: number, name: string, key: string): Promise<void> {
    let p = this.filling.get(key)
    if (!p) {
      p = this.fill(dir, name, key).finally(() => this.filling.delete(key))
      this.filling.set(key, p)
    }
    return p
  }

  private async fill (dir: number, name: string, key: string): Promise<void> {
    const fd = native.openat(dir, name, C.O_WRONLY | C.O_NOFOLLOW, 0)
    try {
      // By the fd from here on: the directory handle may be closed meanwhile.
      if (native.getxattr(fd, '', LAZY_XATTR) === null) return // another daemon was quicker
      const st = native.fstat(fd)
      try {
        await keepingXattrs(fd, () => this.filler.fill(key, (data, position) => {
          for (let off = 0; off < data.length;) off += native.pwrite(fd, off ? data.subarray(off) : data, position + off)
        }))
      } catch (err) {
        // Logged once until it works again: a registry down would fill the log.
        if (!this.failed.has(key)) this.log(`strata: lazy layer ${this.name}: cannot fetch ${key}: ${(err as Error).message}`)
        this.failed.add(key)
        throw errnoError('EIO', `${key}: content not available (${(err as Error).message})`)
      }
      this.failed.delete(key)
      native.fsync(fd)
      // Writing moved mtime; the file's own is the layer's.
      native.futimens(fd, st[S_ATIME], st[S_ATIME_NS], st[S_MTIME], st[S_MTIME_NS])
      try { native.removexattr(fd, '', LAZY_XATTR) } catch (err) { if ((err as { code?: string }).code !== 'ENODATA') throw err }
    } finally {
      native.close(fd)
    }
  }
}
