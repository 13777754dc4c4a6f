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

const UPPER = 1
const HAS_LOWER = 2
const OPAQUE = 4
const UNLINKED = 8
const FAST = 16

// What only a directory has, apart from the node: files are most nodes
// (30k of 35.9k after a find of the bench tree), and these fields on every
// node cost them 56 bytes each.
class DirPart {
  upperFd = -1
  lowerDirs: readonly LowerDir[] = NO_LOWER_DIRS
  redirect: string | null = null
  // Made at the first child: an empty Map is ~200 bytes.
  kids: Map<string, Node> | null = null
  listing: MergedListing | null = null
  subdirs = -1
}

export class Node {
  id: number
  parent: Node | null
  name: string
  /** S_IFMT bits */
  type: number
  /** Stable st_ino reported for this entry. */
  ino: number
  nlookup = 0
  lower: number
  /**
   * An O_PATH fd kept on an upper file unlinked while the kernel still
   * holds it (it may be open): fstat then shows st_nlink 0, as POSIX says.
   */
  keptFd = -1
  copyUp: Promise<void> | null = null
  private flags: number
  private dir: DirPart | null = null

  constructor (id: number, parent: Node | null, name: string, type: number, ino: number, upper: boolean, lower: number, hasLower: boolean) {
    this.id = id
    this.parent = parent
    this.name = name
    this.type = type
    this.ino = ino
    this.lower = lower
    this.flags = (upper ? UPPER : 0) | (hasLower ? HAS_LOWER : 0)
  }

  private flag (bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit
  }

  // A default written to a node without a DirPart makes none.
  private dirPart (): DirPart {
    return (this.dir ??= new DirPart())
  }

  get upper (): boolean { return (this.flags & UPPER) !== 0 }
  set upper (v: boolean) { this.flag(UPPER, v) }
  get hasLower (): boolean { return (this.flags & HAS_LOWER) !== 0 }
  set hasLower (v: boolean) { this.flag(HAS_LOWER, v) }
  /** Set when the upper dir is known to be opaque. */
  get opaque (): boolean { return (this.flags & OPAQUE) !== 0 }
  set opaque (v: boolean) { this.flag(OPAQUE, v) }
  get unlinked (): boolean { return (this.flags & UNLINKED) !== 0 }
  set unlinked (v: boolean) { this.flag(UNLINKED, v) }
  /**
   * Kept by the FUSE adapter, not the union: the node is registered with the
   * native fast path. A bit here rather than a Set of ids there: 1.3 MiB for
   * the 35.9k nodes of a find of the bench tree.
   */
  get inFastPath (): boolean { return (this.flags & FAST) !== 0 }
  set inFastPath (v: boolean) { this.flag(FAST, v) }

  get upperFd (): number { return this.dir === null ? -1 : this.dir.upperFd }
  set upperFd (v: number) { if (v !== -1 || this.dir !== null) this.dirPart().upperFd = v }
  get lowerDirs (): readonly LowerDir[] { return this.dir === null ? NO_LOWER_DIRS : this.dir.lowerDirs }
  set lowerDirs (v: readonly LowerDir[]) { if (v.length > 0 || this.dir !== null) this.dirPart().lowerDirs = v }
  /** A directory's trusted.overlay.redirect in the upper (where its lowers are), if any. */
  get redirect (): string | null { return this.dir === null ? null : this.dir.redirect }
  set redirect (v: string | null) { if (v !== null || this.dir !== null) this.dirPart().redirect = v }
  get listing (): MergedListing | null { return this.dir === null ? null : this.dir.listing }
  set listing (v: MergedListing | null) { if (v !== null || this.dir !== null) this.dirPart().listing = v }
  /** Subdirectories in the merged view; -1 until counted. */
  get subdirs (): number { return this.dir === null ? -1 : this.dir.subdirs }
  set subdirs (v: number) { if (v !== -1 || this.dir !== null) this.dirPart().subdirs = v }

  childNamed (name: string): Node | undefined {
    return this.dir?.kids?.get(name)
  }

  setChild (name: string, n: Node): void {
    (this.dirPart().kids ??= new Map()).set(name, n)
  }

  /** Forgets the child `name`; with `n`, only while the name is still n's. */
  dropChild (name: string, n?: Node): void {
    const kids = this.dir?.kids
    if (kids == null || (n !== undefined && kids.get(name) !== n)) return
    kids.delete(name)
    if (kids.size === 0) this.dir!.kids = null
  }

  get hasChildren (): boolean {
    return this.dir !== null && this.dir.kids !== null
  }

  path (): string {
    const parts: string[] = []
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk to the root starts at this node
    for (let n: Node | null = this; n && n.parent; n = n.parent) parts.push(n.name)
    return '/' + parts.reverse().join('/')
  }
}
