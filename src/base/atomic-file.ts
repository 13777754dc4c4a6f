// Atomic file replacement: write to a temp name beside the target, fsync,
// rename over it, fsync the directory. A crash leaves the old or the new
// content, never a mix.
import fs from 'node:fs'
import path from 'node:path'

let seq = 0

export function tempName (target: string): string {
  return path.join(path.dirname(target), `.tmp-${process.pid}-${seq++}-${path.basename(target)}`)
}

export function fsyncDir (dir: string): void {
  const fd = fs.openSync(dir, 'r')
  try { fs.fsyncSync(fd) } finally { fs.closeSync(fd) }
}

export function writeFileAtomic (target: string, data: string | Buffer, mode = 0o644): void {
  const tmp = tempName(target)
  const fd = fs.openSync(tmp, 'wx', mode)
  try {
    fs.writeSync(fd, Buffer.from(data))
    fs.fsyncSync(fd)
  } catch (err) {
    fs.closeSync(fd)
    fs.rmSync(tmp, { force: true })
    throw err
  }
  fs.closeSync(fd)
  fs.renameSync(tmp, target)
  fsyncDir(path.dirname(target))
}
