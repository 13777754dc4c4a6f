// The writable layer: the upper directory and the work directory beside it
// (same filesystem) where new entries are built before being renamed into
// place, so that no half-made file or whiteout is ever visible. Like kernel
// overlayfs we use <workdir>/work, and empty it of our own leftovers at start.
import { native, C, S_DEV } from '../native/binding.js'
import { S_IFCHR } from './whiteout.js'
import { errnoError } from '../base/errno-error.js'
import { removeTree } from '../base/remove-tree.js'

export class UpperDir {
  readonly root: number
  readonly work: number
  readonly dev: number
  /** False under volatile/fsync=0: copy-ups are not synced before they show. */
  durable = true
  /** Regular files copy up as O_TMPFILE files until the work dir's filesystem refuses one (copy-up.ts). */
  tmpfile = true
  /** The xattr owners and modes are kept in (stat-override.ts), or null: the files' own. Set by the union. */
  override: string | null = null
  private seq = 0

  constructor (readonly upperPath: string, readonly workPath: string) {
    this.root = native.openat(C.AT_FDCWD, upperPath, C.O_RDONLY | C.O_DIRECTORY, 0)
    const wd = native.openat(C.AT_FDCWD, workPath, C.O_RDONLY | C.O_DIRECTORY, 0)
    try {
      this.dev = native.fstat(this.root)[S_DEV]
      if (native.fstat(wd)[S_DEV] !== this.dev) {
        throw errnoError('EXDEV', `upperdir ${upperPath} and workdir ${workPath} are on different filesystems`)
      }
      try { native.mkdirat(wd, 'work', 0o700) } catch (e) { if ((e as { code?: string }).code !== 'EEXIST') throw e }
      this.work = native.openat(wd, 'work', C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW, 0)
    } finally {
      native.close(wd)
    }
    this.clean()
  }

  /** Closes the upper and work dirs: once the union is done with them. */
  close (): void {
    native.close(this.root)
    native.close(this.work)
  }

  /** A fresh name in the work dir. */
  tmpName (): string {
    return `#strata-${process.pid.toString(16)}-${(this.seq++).toString(16)}`
  }

  /** Makes a whiteout in the work dir and returns its name. */
  whiteoutInWork (): string {
    const name = this.tmpName()
    native.mknodat(this.work, name, S_IFCHR, 0)
    return name
  }

  /** Removes `name` from the work dir, recursively for a directory. */
  removeInWork (name: string): void {
    removeTree(this.work, name)
  }

  /** Leftovers of an earlier daemon that died mid-operation. */
  private clean (): void {
    for (const name of native.readdir(this.work)[0]) {
      if (name.startsWith('#strata-')) this.removeInWork(name)
    }
  }
}
