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
import { DirLayer } from './dir-layer.js'

export class RecordingLayer extends DirLayer {
  private readonly top: string

  constructor (dirPath: string, private readonly onOpen: (file: string) => void) {
    super(dirPath)
    this.top = fs.realpathSync(dirPath)
  }

  override fdOf (): number { return -1 }

  override open (dir: number, name: string, flags: number): number {
    const fd = super.open(dir, name, flags)
    const where = fs.readlinkSync(`/proc/self/fd/${super.fdOf(dir)}`)
    this.onOpen(path.relative(this.top, path.join(where, name)))
    return fd
  }
}
