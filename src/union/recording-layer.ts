// A DirLayer that tells `onOpen` the path (in the layer, no leading slash)
// of every file opened through it: how `--estargz-record` learns which files
// a container's command reads, from the FUSE daemon that serves them. Why
// here rather than strace or fanotify: every open of a lower file (execve
// and the dynamic loader's included) reaches the daemon as an OPEN request,
// in the container's own paths, with no tracer in the container and no
// native code; only opens answered here are seen, so fdOf is -1 (the native
// fast path would open lower files without asking). Only for recording runs.
import fs from 'node:fs'
import path from 'node:path'
import type { RawStat } from '../native/binding.js'
import { DirLayer } from './dir-layer.js'
import type { LayerSource } from './layer-source.js'

export class RecordingLayer implements LayerSource {
  readonly name: string
  readonly root: number
  readonly dev: number
  private readonly dir: DirLayer
  private readonly top: string

  constructor (dirPath: string, private readonly onOpen: (file: string) => void) {
    this.dir = new DirLayer(dirPath)
    this.name = dirPath
    this.root = this.dir.root
    this.dev = this.dir.dev
    this.top = fs.realpathSync(dirPath)
  }

  lookup (dir: number, name: string): RawStat | null { return this.dir.lookup(dir, name) }
  statDir (dir: number): RawStat { return this.dir.statDir(dir) }
  openDir (dir: number, name: string): number { return this.dir.openDir(dir, name) }
  closeDir (dir: number): void { this.dir.closeDir(dir) }
  readdir (dir: number): [string[], Uint8Array, Float64Array] { return this.dir.readdir(dir) }
  readlink (dir: number, name: string): string { return this.dir.readlink(dir, name) }
  getxattr (dir: number, name: string, xname: string): Buffer | null { return this.dir.getxattr(dir, name, xname) }
  listxattr (dir: number, name: string): string[] { return this.dir.listxattr(dir, name) }
  isOpaque (dir: number): boolean { return this.dir.isOpaque(dir) }
  statfs (): Float64Array { return this.dir.statfs() }
  fdOf (): number { return -1 }

  open (dir: number, name: string, flags: number): number {
    const fd = this.dir.open(dir, name, flags)
    const where = fs.readlinkSync(`/proc/self/fd/${this.dir.fdOf(dir)}`)
    this.onOpen(path.relative(this.top, path.join(where, name)))
    return fd
  }
}
