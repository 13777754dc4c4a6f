// An inode of the union as the kernel knows it. Owned by UnionFs (its node
// table); a node lives while the kernel holds a lookup reference to it, or
// while a child does. The JS thread is the only one that touches nodes.
//
// Where the entry lives: `upper` says the upper dir holds this name (under
// the parent's upper dir); `lower` is the index of the topmost lower layer
// holding it (-1: none), and `hasLower` says some lower has a visible entry
// at this name (whiteouts are needed when it goes). A directory keeps a
// handle per merged lower layer in `lowerDirs` (top first), and `upperFd`.
import type { MergedListing } from './merged-listing.js'

export interface LowerDir {
  layer: number
  dir: number
}

// Shared by every node without lower dirs (most are files): an empty array
// of their own cost 32 bytes each.
export const NO_LOWER_DIRS: readonly LowerDir[] = Object.freeze([])

export class Node {
  id: number
  parent: Node | null
  name: string
  /** S_IFMT bits */
  type: number
  /** Stable st_ino reported for this entry. */
  ino: number
  nlookup = 0
  upper: boolean
  lower: number
  hasLower: boolean
  upperFd = -1
  lowerDirs: readonly LowerDir[] = NO_LOWER_DIRS
  /** Set when the upper dir is known to be opaque. */
  opaque = false
  /** A directory's trusted.overlay.redirect in the upper (where its lowers are), if any. */
  redirect: string | null = null
  /**
   * An O_PATH fd kept on an upper file unlinked while the kernel still
   * holds it (it may be open): fstat then shows st_nlink 0, as POSIX says.
   */
  keptFd = -1
  // Made at the first child: most nodes are files, and an empty Map is ~200
  // bytes (35k nodes after a find of the bench tree: 7 MiB of the heap).
  private kids: Map<string, Node> | null = null
  unlinked = false
  copyUp: Promise<void> | null = null
  listing: MergedListing | null = null
  /** Subdirectories in the merged view; -1 until counted. */
  subdirs = -1

  constructor (id: number, parent: Node | null, name: string, type: number, ino: number, upper: boolean, lower: number, hasLower: boolean) {
    this.id = id
    this.parent = parent
    this.name = name
    this.type = type
    this.ino = ino
    this.upper = upper
    this.lower = lower
    this.hasLower = hasLower
  }

  childNamed (name: string): Node | undefined {
    return this.kids?.get(name)
  }

  setChild (name: string, n: Node): void {
    (this.kids ??= new Map()).set(name, n)
  }

  /** Forgets the child `name`; with `n`, only while the name is still n's. */
  dropChild (name: string, n?: Node): void {
    if (this.kids === null || (n !== undefined && this.kids.get(name) !== n)) return
    this.kids.delete(name)
    if (this.kids.size === 0) this.kids = null
  }

  get hasChildren (): boolean {
    return this.kids !== null
  }

  path (): string {
    const parts: string[] = []
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk to the root starts at this node
    for (let n: Node | null = this; n && n.parent; n = n.parent) parts.push(n.name)
    return '/' + parts.reverse().join('/')
  }
}
