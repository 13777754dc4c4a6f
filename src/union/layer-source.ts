// A read-only lower layer. The union core only ever reaches a layer through
// this interface, so a layer may come from a directory today and from a tar
// or a registry blob later. Directory handles are opaque numbers owned by the
// layer; the union closes them with closeDir() when it forgets a directory.
import type { RawStat } from '../native/binding.js'

export interface LayerSource {
  /** Shown in errors and logs. */
  readonly name: string
  /** Handle of the layer's root directory. */
  readonly root: number
  /** st_dev of the layer's files, for inode numbering. */
  readonly dev: number
  /** lstat of `name` in `dir`; null when absent. Never follows a final symlink. */
  lookup(dir: number, name: string): RawStat | null
  /** lstat of an open directory handle. */
  statDir(dir: number): RawStat
  /** Opens the directory `name` in `dir` (never following a symlink). */
  openDir(dir: number, name: string): number
  closeDir(dir: number): void
  /** [names, d_types, d_inos], without "." and "..". */
  readdir(dir: number): [string[], Uint8Array, Float64Array]
  /**
   * A read-only file descriptor for the caller to own. A layer whose content
   * arrives later (a lazily pulled one) may first fetch it, hence a promise.
   */
  open(dir: number, name: string, flags: number): number | Promise<number>
  readlink(dir: number, name: string): string
  getxattr(dir: number, name: string, xname: string): Buffer | null
  listxattr(dir: number, name: string): string[]
  /** Is directory `dir` itself marked opaque (xattr or OCI marker)? */
  isOpaque(dir: number): boolean
  statfs(): Float64Array
  /** The OS file descriptor behind a directory handle, or -1 if there is none. */
  fdOf(dir: number): number
  /** Closes every handle, the root's too: once the union is done with the layer. */
  close(): void
}
