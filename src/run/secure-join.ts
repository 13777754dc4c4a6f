// A path inside a container's root, resolved as the container would see it:
// symlinks (absolute ones relative to the root) and ".." never leave the
// root. Mount targets and the working directory go through this before
// pivot_root, when an image's symlink "/data -> /etc" would otherwise name
// the host's /etc (runc uses filepath-securejoin for the same reason).
// Written by hand: no maintained npm package does this.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'

export function secureJoin (root: string, unsafe: string): string {
  const parts = unsafe.split('/').filter((p) => p && p !== '.')
  const done: string[] = []
  let links = 0
  while (parts.length) {
    const p = parts.shift()!
    if (p === '..') { done.pop(); continue }
    const full = path.join(root, ...done, p)
    let target: string | null = null
    try { if (fs.lstatSync(full).isSymbolicLink()) target = fs.readlinkSync(full) } catch { /* missing: taken as is */ }
    if (target === null) { done.push(p); continue }
    if (++links > 40) throw errnoError('ELOOP', `too many symlinks in ${unsafe}`)
    if (target.startsWith('/')) done.length = 0
    parts.unshift(...target.split('/').filter((x) => x && x !== '.'))
  }
  return path.join(root, ...done)
}
