// Removing a tree by directory fd, one name at a time, never following a
// symlink: safe inside layers whatever they contain, and at any depth.
import { native, C, S_MODE } from '../native/binding.js'
import { S_IFDIR, S_IFMT } from './file-mode.js'
import { killPoint } from './kill-point.js'

/** Removes `name` in `dir`, recursively for a directory; absent is fine. */
export function removeTree (dir: number, name: string): void {
  const st = native.lstatAtOrNull(dir, name)
  if (!st) return
  if ((st[S_MODE] & S_IFMT) === S_IFDIR) {
    const fd = native.openat(dir, name, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW, 0)
    try {
      for (const child of native.readdir(fd)[0]) removeTree(fd, child)
    } finally {
      native.close(fd)
    }
    native.unlinkat(dir, name, C.AT_REMOVEDIR)
  } else {
    native.unlinkat(dir, name, 0)
  }
  killPoint('remove-entry')
}
