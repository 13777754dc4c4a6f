// A read-only view of an image's files without a mount: the union of its
// extracted layers (union/ over the layer dirs, no FUSE), to learn where a
// COPY destination really is (through the image's own symlinks, as docker
// resolves them), what is there already, and the image's /etc/passwd for
// --chown names. Owns the layer fds it opens until close().
import fs from 'node:fs'
import type { Store } from '../store/store.js'
import type { ImageConfig } from '../oci/oci-types.js'
import { native, C, S_MODE, type RawStat } from '../native/binding.js'
import { DirLayer } from '../union/dir-layer.js'
import { UnionFs, ROOT_ID } from '../union/union-fs.js'
import { errnoError } from '../base/errno-error.js'
import { S_IFMT, S_IFDIR, S_IFLNK } from '../union/whiteout.js'

export interface Found { path: string, attr: RawStat | null, id: number | null }

export class ImageTree {
  private readonly layers: DirLayer[]
  private readonly union: UnionFs | null

  constructor (store: Store, config: ImageConfig) {
    this.layers = [...config.rootfs.diff_ids].reverse().map((d) => new DirLayer(store.layers.require(d)))
    this.union = this.layers.length ? new UnionFs(this.layers, null) : null
  }

  /**
   * Resolves an absolute path in the image, following symlinks (the last
   * one too when `followLast`), never above the image's root. Returns the
   * real path and what is there (null when nothing is).
   */
  resolve (p: string, followLast = true): Found {
    const todo = p.split('/').filter((x) => x && x !== '.')
    const done: Array<{ name: string, id: number }> = []
    let hops = 0
    let attr: RawStat | null = null
    while (todo.length) {
      const name = todo.shift()!
      if (name === '..') { done.pop(); continue }
      const parent = done.length ? done[done.length - 1].id : ROOT_ID
      const e = this.union?.lookup(parent, name) ?? null
      if (!e) {
        // Nothing here: the rest is made new, as written.
        return { path: '/' + [...done.map((d) => d.name), name, ...todo].join('/'), attr: null, id: null }
      }
      const type = e.attr[S_MODE] & S_IFMT
      if (type === S_IFLNK && (todo.length > 0 || followLast)) {
        if (++hops > 40) throw errnoError('ELOOP', `too many symlinks resolving ${p} in the image`)
        const target = this.union!.readlink(e.node.id)
        if (target.startsWith('/')) done.length = 0
        todo.unshift(...target.split('/').filter((x) => x && x !== '.'))
        continue
      }
      if (todo.length > 0 && type !== S_IFDIR) throw errnoError('ENOTDIR', `${p}: ${'/' + [...done.map((d) => d.name), name].join('/')} is not a directory in the image`)
      done.push({ name, id: e.node.id })
      attr = e.attr
    }
    if (!done.length) return { path: '/', attr: this.union ? this.union.getattr(ROOT_ID) : null, id: this.union ? ROOT_ID : null }
    return { path: '/' + done.map((d) => d.name).join('/'), attr, id: done[done.length - 1].id }
  }

  /** A file's content, or null when the image has no such regular file. */
  async readFile (p: string): Promise<string | null> {
    const r = this.resolve(p)
    if (!r.attr || r.id === null || (r.attr[S_MODE] & S_IFMT) === S_IFDIR) return null
    const { fd } = await this.union!.open(r.id, C.O_RDONLY)
    try { return fs.readFileSync(fd, 'utf8') } finally { fs.closeSync(fd) }
  }

  /** The names in a directory of the image (merged, whiteouts hidden), sorted. */
  list (id: number): string[] {
    const h = this.union!.opendir(id)
    try { return [...this.union!.dirHandle(h).listing.names].filter((n) => n !== '.' && n !== '..').sort() } finally { this.union!.releasedir(h) }
  }

  /**
   * A path through which `fs` can read what the node is: the file in the
   * layer that provides it, or a directory's topmost layer (whose attributes
   * overlay shows), by way of the layer fds this tree holds open.
   */
  backingPath (id: number): string | null {
    if (!this.union) return null
    const n = this.union.node(id)
    if (n.type === S_IFDIR) {
      const ld = n.lowerDirs[0]
      // "/." so that lstat sees the directory, not the fd's magic link.
      return ld ? `/proc/self/fd/${this.layers[ld.layer].fdOf(ld.dir)}/.` : null
    }
    const loc = this.union.lowerLocation(n)
    return loc ? `/proc/self/fd/${loc.dirfd}/${loc.name}` : null
  }

  /** A symlink's target. */
  readlink (id: number): string {
    return this.union!.readlink(id)
  }

  /** The entry named `name` in directory `id`, or null. */
  child (id: number, name: string): { id: number, attr: RawStat } | null {
    const e = this.union?.lookup(id, name) ?? null
    return e ? { id: e.node.id, attr: e.attr } : null
  }

  close (): void {
    for (const l of this.layers) native.close(l.root)
  }
}
