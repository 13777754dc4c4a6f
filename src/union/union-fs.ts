// The overlay: kernel overlayfs semantics (Documentation/filesystems/
// overlayfs.rst) over one optional upper dir and any number of read-only
// LayerSources. Methods are named after the syscalls they serve, take node
// ids, and throw errors carrying an errno `code`. No FUSE here: an adapter in
// fuse/ turns requests into these calls.
//
// State: the node table (id → Node) and each directory's children map, owned
// here and touched only on the JS thread. A node's `copyUp` promise is the
// per-node lock for copy-up; everything else runs to completion between
// awaits. Lower layers never change, so what a node found in them is kept
// on the node, or read again (attributes: lower-stats.ts); the upper changes
// only through these methods.
// Owners and modes are the files' own, or a layer's override_stat records
// (stat-override.ts, fuse-overlayfs's xattr_permissions) wherever that
// layer's root says so.
import { native, C, S_DEV, S_INO, S_MODE, S_NLINK, S_UID, S_GID, S_SIZE, type RawStat } from '../native/binding.js'
import type { LayerSource } from './layer-source.js'
import { Node, NO_LOWER_DIRS, type LowerDir } from './node.js'
import { LowerStats } from './lower-stats.js'
import { InodeNumbers } from './inode-numbers.js'
import { UpperDir } from './upper-dir.js'
import { mergedListing, type MergedListing } from './merged-listing.js'
import { copyUp } from './copy-up.js'
import { errnoError } from '../base/errno-error.js'
import type { Caller } from './caller.js'
import { applyOverride, detectOverride, formatOverride, backingMode } from './stat-override.js'
import { initUpperOverride } from './upper-override.js'
import {
  IMPURE_XATTR, OPAQUE_XATTR, ORIGIN_XATTR, REDIRECT_XATTR, OCI_WHITEOUT_PREFIX, S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR,
  isDir, isPrivateXattr, isWhiteout,
} from './whiteout.js'

export const ROOT_ID = 1

/** Bits of setattr's `valid` mask (FUSE_SET_ATTR_*). */
export const SET_MODE = 1
export const SET_UID = 2
export const SET_GID = 4
export const SET_SIZE = 8
export const SET_ATIME = 16
export const SET_MTIME = 32
export const SET_ATIME_NOW = 128
export const SET_MTIME_NOW = 256

export interface UnionOptions {
  /** Seconds the kernel may cache names and attributes. */
  timeout?: number
  /**
   * Called before a node's attributes, place or content may change (copy-up,
   * a change in a directory, removal, forget), so that whoever answers for
   * immutable nodes without asking (an adapter's fast path) stops doing so.
   */
  onChange?: (id: number) => void
  /**
   * Called once a directory's entries have changed (made, removed, renamed,
   * copied up into it), after the change and before it is answered: its
   * listing and perhaps its link count are new, its other attributes are
   * the live upper directory's (upperLocation).
   */
  onEntriesChanged?: (id: number) => void
  /**
   * Called once a non-directory has been copied up to (dirfd, name), so
   * that files still open on its lower copy can be pointed at the upper one
   * (the kernel's overlay re-opens the real file at copy-up).
   */
  onCopyUp?: (id: number, dirfd: number, name: string) => void
  /**
   * rename(2) of a directory with lower parts records where it came from
   * (trusted.overlay.redirect, as the kernel's redirect_dir=on) instead of
   * failing with EXDEV. Default true; redirects in the layers are followed
   * either way.
   */
  redirectDir?: boolean
  /**
   * fuse-overlayfs's xattr_permissions: 1 or 2 keep the upper's owners and
   * modes in security.fuseoverlayfs.override_stat or
   * user.fuseoverlayfs.override_stat instead of the files' own
   * (stat-override.ts); 0 (default) leaves the upper as its root says.
   */
  xattrPermissions?: number
}

/** See UnionFs.upperLocation. */
export interface UpperLocation {
  dirfd: number
  name: string
  /** The link count to show instead of the backing entry's (0: its own). */
  nlink: number
  /**
   * A directory whose upper dir is all of it (no lower part): a name the
   * upper dir lacks is in no layer.
   */
  alone: boolean
}

export interface Entry {
  node: Node
  attr: RawStat
}

export interface DirHandle {
  node: Node
  listing: MergedListing
}

const NAME_MAX = 255
/** The kernel's ovl_redirect_max: a longer absolute redirect makes rename fail with EXDEV. */
const REDIRECT_MAX = 256
/** A directory's default ACL: when present it, not the umask, masks new entries. */
const DEFAULT_ACL_XATTR = 'system.posix_acl_default'
const Y = Buffer.from('y')

interface Resolved {
  st: RawStat
  upper: boolean
  lower: number
  hasLower: boolean
  lowerDirs: LowerDir[]
  opaque: boolean
  ino: number
  redirect: string | null
}

export class UnionFs {
  readonly layers: LayerSource[]
  readonly upper: UpperDir | null
  readonly timeout: number
  readonly redirectDir: boolean
  private readonly inodes: InodeNumbers
  private readonly nodes = new Map<number, Node>()
  private readonly impure = new Set<Node>()
  private readonly lowerStats = new LowerStats()
  private nextId = ROOT_ID + 1
  private readonly dirHandles = new Map<number, DirHandle>()
  private readonly onChange: (id: number) => void
  private readonly onEntriesChanged: (id: number) => void
  private readonly onCopyUp: (id: number, dirfd: number, name: string) => void
  private nextHandle = 1
  /** Per lower layer, the xattr its owners and modes are kept in, or null (their own). */
  private readonly lowerOverride: Array<string | null>
  /** The same for the upper: set, chown/chmod and new entries write it and leave the real owner alone. */
  readonly upperOverride: string | null
  /** Override xattrs in use here: the mount never shows them, nor lets them be set. */
  private readonly hiddenXattrs: Set<string>

  constructor (layers: LayerSource[], upper: UpperDir | null, opts: UnionOptions = {}) {
    if (layers.length === 0 && !upper) throw errnoError('EINVAL', 'at least one lower layer is needed')
    this.layers = layers
    this.upper = upper
    this.timeout = opts.timeout ?? 86400
    this.redirectDir = opts.redirectDir ?? true
    this.onChange = opts.onChange ?? (() => {})
    this.onEntriesChanged = opts.onEntriesChanged ?? (() => {})
    this.onCopyUp = opts.onCopyUp ?? (() => {})
    this.lowerOverride = layers.map((l) => detectOverride((x) => l.getxattr(l.root, '', x)))
    this.upperOverride = upper ? initUpperOverride(upper, layers, opts.xattrPermissions ?? 0) : null
    if (upper) upper.override = this.upperOverride
    this.hiddenXattrs = new Set([...this.lowerOverride, this.upperOverride].filter((x): x is string => x !== null))
    this.inodes = new InodeNumbers([...(upper ? [upper.dev] : []), ...layers.map((l) => l.dev)])
    const rootSt = upper ? native.fstat(upper.root) : layers[0].statDir(layers[0].root)
    const rootIno = upper ? this.inodes.of(upper.dev, rootSt[S_INO]) : this.inodes.of(layers[0].dev, rootSt[S_INO])
    const root = new Node(ROOT_ID, null, '', S_IFDIR, rootIno, upper !== null, upper ? -1 : 0, layers.length > 0)
    root.nlookup = 1
    root.upperFd = upper ? upper.root : -1
    root.lowerDirs = layers.map((l, i) => ({ layer: i, dir: l.root }))
    if (upper) this.loadImpure(root)
    this.nodes.set(ROOT_ID, root)
  }

  /**
   * Closes every fd the union holds: its nodes' directories, the layers,
   * the upper. Called once the mount has ended, so that a process serving
   * one mount after another (a spare daemon: cli/spare-main.ts) keeps none
   * of an earlier one's. The union answers nothing after.
   */
  close (): void {
    for (const n of this.nodes.values()) {
      this.closeLowerDirs(n.lowerDirs)
      n.lowerDirs = NO_LOWER_DIRS
      if (n.upperFd >= 0 && n.upperFd !== this.upper?.root) native.close(n.upperFd)
      if (n.keptFd >= 0) native.close(n.keptFd)
      n.upperFd = -1
      n.keptFd = -1
    }
    this.nodes.clear()
    this.lowerStats.clear()
    this.dirHandles.clear()
    for (const l of this.layers) l.close()
    this.upper?.close()
  }

  node (id: number): Node {
    const n = this.nodes.get(id)
    if (!n) throw errnoError('ESTALE', `no node ${id}`)
    return n
  }

  /** The node, or undefined once it is gone. */
  peek (id: number): Node | undefined {
    return this.nodes.get(id)
  }

  // --- resolution -------------------------------------------------------------

  private loadImpure (dir: Node): void {
    const v = native.getxattr(dir.upperFd, '', IMPURE_XATTR)
    if (v !== null) this.impure.add(dir)
  }

  private markImpure (dir: Node): void {
    if (this.impure.has(dir)) return
    native.setxattr(dir.upperFd, '', IMPURE_XATTR, Y, 0)
    this.impure.add(dir)
  }

  private upperOpaque (dirfd: number, name: string): boolean {
    const v = native.getxattr(dirfd, name, OPAQUE_XATTR)
    return v !== null && v.length === 1 && v[0] === 0x79
  }

  /** Where `name` lives under `parent`, or null; opens the lower dir handles of a directory. */
  private resolve (parent: Node, name: string): Resolved | null {
    if (name.length > NAME_MAX) throw errnoError('ENAMETOOLONG', `name of ${name.length} bytes in ${parent.path()}`)
    let top: RawStat | null = null
    let upper = false
    let lower = -1
    let hasLower = false
    let opaque = false
    let ino = 0
    const lowerDirs: LowerDir[] = []
    if (parent.upperFd >= 0) {
      const st = native.lstatAtOrNull(parent.upperFd, name)
      if (st) {
        if (isWhiteout(st)) return null
        top = st
        upper = true
        ino = this.inodes.of(st[S_DEV], st[S_INO])
        if (this.impure.has(parent)) {
          const origin = native.getxattr(parent.upperFd, name, ORIGIN_XATTR)
          if (origin) ino = Number(origin.toString())
        }
        if (isDir(st)) opaque = this.upperOpaque(parent.upperFd, name)
      }
    }
    // A renamed directory's lowers are where its redirect says, not at its name.
    const redirect = top && !opaque && isDir(top) ? this.upperRedirect(parent.upperFd, name) : null
    if (!opaque) {
      const found = this.lowerLookup(parent, redirect ?? name, top)
      if (!top) {
        top = found.top
        lower = found.lower
        if (top) ino = this.inodes.of(this.layers[lower].dev, top[S_INO])
      }
      hasLower = found.top !== null
      lowerDirs.push(...found.lowerDirs)
    }
    // An opaque or redirected upper dir still covers whatever the lowers
    // have at its own name.
    if (opaque || redirect !== null) hasLower = this.lowerPositive(parent, name)
    if (!top) return null
    return { st: top, upper, lower, hasLower, lowerDirs, opaque, ino, redirect }
  }

  /**
   * The lower entries under `parent` at `target` (a name, or an absolute
   * redirect "/a/b"), top layer first, following redirects met in lower
   * directories as the kernel's ovl_lookup does: a relative one renames the
   * entry within the same parent for the layers below, an absolute one
   * restarts those layers' lookup from their roots. `above` is what the
   * upper holds there (a non-directory hides everything below it).
   */
  private lowerLookup (parent: Node, target: string, above: RawStat | null): { top: RawStat | null, lower: number, lowerDirs: LowerDir[] } {
    const lowerDirs: LowerDir[] = []
    let top = above
    let lower = -1
    let found: RawStat | null = null
    let path = target.startsWith('/') ? splitRedirect(target) : null
    let name = target
    const pl = parent.lowerDirs // ordered by layer, top first
    let k = 0
    for (let i = path ? 0 : (pl[0]?.layer ?? this.layers.length); i < this.layers.length; i++) {
      const layer = this.layers[i]
      let dir = -1
      if (path) dir = this.walkLower(i, path.slice(0, -1))
      else {
        while (k < pl.length && pl[k].layer < i) k++
        if (k === pl.length) break
        if (pl[k].layer === i) dir = pl[k].dir
      }
      if (dir < 0) continue
      const own = path !== null && dir !== layer.root
      const nm = path ? path[path.length - 1] : name
      // Nothing lies below the bottom layer for a whiteout to hide, an
      // opaque dir to cover or a redirect to point into: its probes would
      // only cost syscalls (three per directory of a one-layer image).
      const bottom = i === this.layers.length - 1
      try {
        const st = layer.lookup(dir, nm)
        if (!st) {
          if (!bottom && this.ociWhiteout(layer, dir, nm)) break
          continue
        }
        if (isWhiteout(st)) break
        if (!found) found = st
        if (!top) {
          top = st
          lower = i
        }
        if (!isDir(top) || !isDir(st)) break
        const d = layer.openDir(dir, nm)
        lowerDirs.push({ layer: i, dir: d })
        if (bottom || layer.isOpaque(d)) break
        const r = layer.getxattr(d, '', REDIRECT_XATTR)
        if (r !== null) {
          const v = checkRedirect(r, `${layer.name}: ${parent.path()}/${nm}`)
          if (v.startsWith('/')) path = splitRedirect(v)
          else if (path) path = [...path.slice(0, -1), v]
          else name = v
        }
      } finally {
        if (own) layer.closeDir(dir)
      }
    }
    return { top: found === null ? null : top, lower, lowerDirs }
  }

  /** Layer i's directory at `parts` from its root, or -1; the caller closes it unless it is the root. */
  private walkLower (i: number, parts: string[]): number {
    const layer = this.layers[i]
    let dir = layer.root
    for (const part of parts) {
      const st = layer.lookup(dir, part)
      const next = st && isDir(st) ? layer.openDir(dir, part) : -1
      if (dir !== layer.root) layer.closeDir(dir)
      if (next < 0) return -1
      dir = next
    }
    return dir
  }

  private upperRedirect (dirfd: number, name: string): string | null {
    const v = native.getxattr(dirfd, name, REDIRECT_XATTR)
    return v === null ? null : checkRedirect(v, `upper ${name}`)
  }

  private ociWhiteout (layer: LayerSource, dir: number, name: string): boolean {
    return name.length + OCI_WHITEOUT_PREFIX.length <= NAME_MAX && layer.lookup(dir, OCI_WHITEOUT_PREFIX + name) !== null
  }

  /** Does a lower layer show an entry at `name` (ignoring the upper)? */
  private lowerPositive (parent: Node, name: string): boolean {
    for (const ld of parent.lowerDirs) {
      const layer = this.layers[ld.layer]
      const st = layer.lookup(ld.dir, name)
      if (!st) {
        if (this.ociWhiteout(layer, ld.dir, name)) return false
        continue
      }
      return !isWhiteout(st)
    }
    return false
  }

  private closeLowerDirs (dirs: readonly LowerDir[]): void {
    for (const ld of dirs) this.layers[ld.layer].closeDir(ld.dir)
  }

  private attach (parent: Node, name: string, r: Resolved): Node {
    const n = new Node(this.nextId++, parent, name, r.st[S_MODE] & S_IFMT, r.ino, r.upper, r.lower, r.hasLower)
    n.opaque = r.opaque
    n.redirect = r.redirect
    if (n.type === S_IFDIR) {
      n.lowerDirs = r.lowerDirs
      if (r.upper) {
        n.upperFd = native.openat(parent.upperFd, name, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW, 0)
        this.loadImpure(n)
      }
    } else {
      this.closeLowerDirs(r.lowerDirs)
    }
    if (!r.upper) this.lowerStats.keep(n.id, this.lowerView(n, r.st))
    parent.setChild(name, n)
    this.nodes.set(n.id, n)
    return n
  }

  /** The child node for `name`, made if needed; null when there is no such entry. */
  private child (parent: Node, name: string): Node | null {
    if (parent.type !== S_IFDIR) throw errnoError('ENOTDIR', parent.path())
    const known = parent.childNamed(name)
    if (known) return known
    const r = this.resolve(parent, name)
    return r ? this.attach(parent, name, r) : null
  }

  private existing (parent: Node, name: string): Node {
    const n = this.child(parent, name)
    if (!n) throw errnoError('ENOENT', `${parent.path()}/${name}`)
    return n
  }

  /**
   * Before an upper non-directory loses its name while the kernel still
   * holds the node (it may be open; fstat carries no file handle), keeps an
   * O_PATH fd on it so its attributes, st_nlink 0 included, stay readable.
   * A lower file keeps its lower attributes (st_nlink 1, as the kernel's).
   */
  private keepForStat (n: Node): void {
    if (n.type === S_IFDIR || !n.upper || n.nlookup === 0 || n.keptFd >= 0 || !n.parent || n.parent.upperFd < 0) return
    n.keptFd = native.openat(n.parent.upperFd, n.name, C.O_PATH | C.O_NOFOLLOW, 0)
  }

  private detach (n: Node): void {
    this.onChange(n.id)
    // Read now, while the parent (the way back to the layer) is sure to be here.
    if (!n.upper && n.nlookup > 0 && (this.lowerStats.get(n.id) !== undefined || this.readLowerStat(n) !== null)) this.lowerStats.pin(n.id)
    n.unlinked = true
    n.parent?.dropChild(n.name, n)
    this.maybeDrop(n)
  }

  private maybeDrop (n: Node): void {
    if (n.id === ROOT_ID || n.nlookup > 0 || n.hasChildren) return
    this.onChange(n.id)
    n.parent?.dropChild(n.name, n)
    this.nodes.delete(n.id)
    this.lowerStats.drop(n.id)
    this.closeLowerDirs(n.lowerDirs)
    n.lowerDirs = NO_LOWER_DIRS
    if (n.upperFd >= 0) native.close(n.upperFd)
    n.upperFd = -1
    if (n.keptFd >= 0) native.close(n.keptFd)
    n.keptFd = -1
    this.impure.delete(n)
    const p = n.parent
    if (p) this.maybeDrop(p)
  }

  /**
   * The directory's entries changed: drop its cached listing, and keep its
   * subdirectory count (for nlink) up to date by `dirDelta` rather than
   * listing it again on the next getattr — that would make a series of
   * changes quadratic.
   */
  private changed (dir: Node, dirDelta = 0): void {
    dir.listing = null
    if (dir.subdirs >= 0) dir.subdirs += dirDelta
    this.onEntriesChanged(dir.id)
  }

  // --- attributes ---------------------------------------------------------------

  private listing (dir: Node): MergedListing {
    if (!dir.listing) {
      dir.listing = mergedListing({
        upperFd: dir.upperFd,
        upperDev: this.upper?.dev ?? 0,
        impure: this.impure.has(dir),
        lowerDirs: dir.lowerDirs,
        layers: this.layers,
        inodes: this.inodes,
      })
      dir.subdirs = dir.listing.subdirs
    }
    return dir.listing
  }

  /** A lower-only node's attributes: kept from its lookup if recent, else read again from its layer. */
  private lowerStatOf (n: Node): RawStat {
    const st = this.lowerStats.get(n.id) ?? this.readLowerStat(n)
    if (st === null) throw errnoError('ESTALE', `lower entry of ${n.path()} is gone`)
    return st
  }

  /** Reads a lower-only node's attributes from its layer again, into the window; null if the entry is gone. */
  private readLowerStat (n: Node): RawStat | null {
    const layer = this.layers[n.lower]
    const own = n.type === S_IFDIR ? n.lowerDirs.find((d) => d.layer === n.lower) : undefined
    const ld = own === undefined ? n.parent?.lowerDirs.find((d) => d.layer === n.lower) : undefined
    const st = own !== undefined ? layer.statDir(own.dir) : ld !== undefined ? layer.lookup(ld.dir, n.name) : null
    if (st === null || isWhiteout(st) || (st[S_MODE] & S_IFMT) !== n.type) return null
    return this.lowerStats.keep(n.id, this.lowerView(n, st))
  }

  /** The node's attributes as the layers say (owners and modes from an override xattr where one is in use). */
  private rawStat (n: Node, fh: number): RawStat {
    if (n.unlinked && fh >= 0) return n.upper ? this.upperView(native.fstat(fh), fh, '') : this.lowerView(n, native.fstat(fh))
    if (n.keptFd >= 0) return this.upperView(native.fstat(n.keptFd), n.keptFd, '')
    if (!n.upper) return this.lowerStatOf(n)
    if (n.upperFd >= 0) return this.upperView(native.fstat(n.upperFd), n.upperFd, '')
    if (n.parent && n.parent.upperFd >= 0) return this.upperView(native.fstatat(n.parent.upperFd, n.name, C.AT_SYMLINK_NOFOLLOW), n.parent.upperFd, n.name)
    if (n.lowerDirs.length) return this.lowerView(n, this.layers[n.lowerDirs[0].layer].statDir(n.lowerDirs[0].dir))
    throw errnoError('ESTALE', n.path())
  }

  private upperView (st: RawStat, dir: number, name: string): RawStat {
    if (this.upperOverride === null) return st
    return applyOverride(st, readXattr(() => native.getxattr(dir, name, this.upperOverride!)))
  }

  /** A lower node's stat `st` with its layer's override applied (read once: lowers never change). */
  private lowerView (n: Node, st: RawStat): RawStat {
    const x = this.lowerOverride[n.lower]
    if (x === undefined || x === null) return st
    const layer = this.layers[n.lower]
    // A directory through its own handle: it may sit elsewhere than its name (a redirect).
    const own = n.lowerDirs.find((d) => d.layer === n.lower)
    const t = own ? { dir: own.dir, name: '' } : this.xattrTarget(n)
    return applyOverride(st, readXattr(() => layer.getxattr(t.dir, t.name, x)))
  }

  /**
   * Records owner and mode in the upper's override xattr of (dir, name).
   * user.* xattrs exist only on files and directories: elsewhere the entry
   * keeps its real attributes, as under fuse-overlayfs.
   */
  private writeOverride (dir: number, name: string, uid: number, gid: number, mode: number): void {
    try {
      native.setxattr(dir, name, this.upperOverride!, formatOverride(uid, gid, mode), 0)
    } catch (err) {
      const t = mode & S_IFMT
      const code = (err as { code?: string }).code
      if (t === S_IFDIR || t === S_IFREG || (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP')) throw err
    }
  }

  /** The attributes the kernel sees: stable st_ino, merged directory nlink. */
  private attrOf (n: Node, fh = -1): RawStat {
    const st = Float64Array.from(this.rawStat(n, fh))
    st[S_INO] = n.ino
    const nlink = this.mergedNlink(n, true)
    if (nlink) st[S_NLINK] = nlink
    return st
  }

  /**
   * The link count of a directory with more than one source: 2 + its
   * subdirectories in the merged listing, as a plain directory's (the
   * kernel's overlay shows 1, "unknown" to find(1)); or 0 where the backing
   * entry's own count is shown. null when it is not known and `count` is
   * false (counting lists the directory).
   */
  private mergedNlink (n: Node, count: boolean): number | null {
    const sources = n.lowerDirs.length + (n.upperFd >= 0 ? 1 : 0)
    if (n.type !== S_IFDIR || sources <= 1) return 0
    if (n.subdirs < 0) {
      if (!count) return null
      this.listing(n)
    }
    return 2 + n.subdirs
  }

  /** How long the kernel may cache this node's attributes (the native fast path's rule, defined there once). */
  attrTimeout (n: Node, attr: RawStat): number {
    return native.attrTimeout(n.upper, attr[S_MODE], attr[S_NLINK], this.timeout)
  }

  // --- the operations -------------------------------------------------------------

  lookup (parentId: number, name: string): Entry | null {
    const n = this.child(this.node(parentId), name)
    if (!n) return null
    n.nlookup++
    return { node: n, attr: this.attrOf(n) }
  }

  forget (id: number, count: number): void {
    const n = this.nodes.get(id)
    if (!n) return
    n.nlookup = Math.max(0, n.nlookup - count)
    this.maybeDrop(n)
  }

  getattr (id: number, fh = -1): RawStat {
    return this.attrOf(this.node(id), fh)
  }

  /** Makes the node's entry exist in the upper layer (copy-up), with its parents. */
  async ensureUpper (n: Node, dataLength = -1): Promise<void> {
    if (n.upper) return
    if (!this.upper) throw errnoError('EROFS', `read-only union: ${n.path()}`)
    if (n.copyUp) return n.copyUp
    this.onChange(n.id)
    n.copyUp = (async () => {
      const parent = n.parent!
      await this.ensureUpper(parent)
      const ld = parent.lowerDirs.find((d) => d.layer === n.lower)
      if (!ld) throw errnoError('ESTALE', `lower entry of ${n.path()} is gone`)
      const dirFd = await copyUp({ layer: this.layers[n.lower], dir: ld.dir, name: n.name, st: this.lowerStatOf(n), origin: n.ino, hidden: this.hiddenXattrs }, this.upper!, parent.upperFd, dataLength)
      n.upper = true
      this.lowerStats.drop(n.id)
      if (n.type === S_IFDIR) n.upperFd = dirFd
      else this.onCopyUp(n.id, parent.upperFd, n.name)
      this.markImpure(parent)
      this.changed(parent)
    })()
    try {
      await n.copyUp
    } finally {
      n.copyUp = null
    }
  }

  private upperParent (n: Node): Node {
    const p = n.parent
    if (!p || p.upperFd < 0) throw errnoError('EIO', `no upper parent for ${n.path()}`)
    return p
  }

  async setattr (id: number, valid: number, attr: RawStat, fh = -1): Promise<RawStat> {
    const n = this.node(id)
    if (valid & SET_SIZE && n.type === S_IFDIR) throw errnoError('EISDIR', n.path())
    // Truncating a lower file to zero needs no data copied.
    await this.ensureUpper(n, valid & SET_SIZE ? attr[S_SIZE] : -1)
    // A directory (the root too) is changed through its own fd; an unlinked
    // file through the open one; anything else by name in its parent.
    const own = n.upperFd >= 0 ? n.upperFd : n.unlinked ? fh : -1
    if (own < 0 && n.unlinked) throw errnoError('ESTALE', `${n.path()} was removed`)
    const dir = own >= 0 ? own : this.upperParent(n).upperFd
    const name = own >= 0 ? '' : n.name
    // The syscalls are native's (setattrAt), the same its fast path makes
    // for upper files; what is decided here is where, and the override.
    if (this.upperOverride === null) native.setattrAt(dir, name, fh, valid, attr)
    else {
      native.setattrAt(dir, name, fh, valid & SET_SIZE, attr)
      if (valid & (SET_UID | SET_GID | SET_MODE)) {
        // Owner and mode live in the xattr: the real file keeps the daemon's.
        const cur = this.rawStat(n, fh)
        const uid = valid & SET_UID ? attr[S_UID] : cur[S_UID]
        const gid = valid & SET_GID ? attr[S_GID] : cur[S_GID]
        const perm = valid & SET_MODE ? attr[S_MODE] & 0o7777 : cur[S_MODE] & 0o7777
        this.writeOverride(dir, name, uid, gid, (cur[S_MODE] & S_IFMT) | perm)
      }
      native.setattrAt(dir, name, fh, valid & ~(SET_SIZE | SET_UID | SET_GID | SET_MODE), attr)
    }
    if (n.type === S_IFDIR) this.onChange(n.id)
    return this.attrOf(n, fh)
  }

  readlink (id: number): string {
    const n = this.node(id)
    if (n.type !== S_IFLNK) throw errnoError('EINVAL', `not a symlink: ${n.path()}`)
    const p = n.parent!
    if (n.upper) return native.readlinkat(p.upperFd, n.name)
    const ld = p.lowerDirs.find((d) => d.layer === n.lower)!
    return this.layers[n.lower].readlink(ld.dir, n.name)
  }

  /**
   * The owner and permission bits of a new entry, as POSIX (and the kernel's
   * inode_init_owner) gives them: the caller's fsuid; the parent's group if
   * the parent is setgid (a new directory inherits the bit), else the
   * caller's fsgid; the caller's umask cleared from the mode, unless the
   * parent has a default ACL, which then decides (the upper's filesystem
   * applies it when the entry is made with the unmasked mode).
   */
  private newOwner (parent: Node, caller: Caller, mode: number): { uid: number, gid: number, perm: number } {
    const pst = this.rawStat(parent, -1)
    const setgidDir = (pst[S_MODE] & 0o2000) !== 0
    let perm = mode & 0o7777
    if (native.getxattr(parent.upperFd, '', DEFAULT_ACL_XATTR) === null) perm &= ~caller.umask
    if (setgidDir && (mode & S_IFMT) === S_IFDIR) perm |= 0o2000
    return { uid: caller.uid, gid: setgidDir ? pst[S_GID] : caller.gid, perm }
  }

  /**
   * Creates a new upper entry `name` under `parent` with `make(dir, name)`.
   * Over a whiteout it is built in the work dir and renamed into place, and
   * a directory made there is opaque, so nothing below resurrects.
   */
  private async createEntry (parent: Node, name: string, caller: Caller, mode: number,
    // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- make returns an fd, or nothing for calls that make no fd
    make: (dir: number, name: string, perm: number) => number | void): Promise<{ node: Node, fd: number }> {
    if (this.child(parent, name)) throw errnoError('EEXIST', `${parent.path()}/${name}`)
    if (!this.upper) throw errnoError('EROFS', `read-only union: ${parent.path()}/${name}`)
    // Only a copy-up of the parent lets other requests run before the name
    // is made (the kernel's lock on the directory keeps out its own).
    if (!parent.upper) {
      await this.ensureUpper(parent)
      if (this.child(parent, name)) throw errnoError('EEXIST', `${parent.path()}/${name}`)
    }
    const owner = this.newOwner(parent, caller, mode)
    const isDirEntry = (mode & S_IFMT) === S_IFDIR
    const ust = native.lstatAtOrNull(parent.upperFd, name)
    const overWhiteout = ust !== null && isWhiteout(ust)
    const viaWork = overWhiteout
    const dir = viaWork ? this.upper.work : parent.upperFd
    const tmp = viaWork ? this.upper.tmpName() : name
    let fd = -1
    try {
      const ov = this.upperOverride !== null
      const r = make(dir, tmp, ov ? backingMode(owner.perm) : owner.perm & 0o777)
      if (typeof r === 'number') fd = r
      if (ov) {
        this.writeOverride(dir, tmp, owner.uid, owner.gid, (mode & S_IFMT) | owner.perm)
      } else {
        native.fchownat(dir, tmp, owner.uid, owner.gid, C.AT_SYMLINK_NOFOLLOW)
        // Made with the permission bits only (mkdir(2) may drop the others);
        // chown clears set-id bits, so they go on last.
        if ((mode & S_IFMT) !== S_IFLNK && (owner.perm & 0o7000)) native.fchmodat(dir, tmp, owner.perm)
      }
      // As the kernel with redirect_dir (ovl_create_upper): a new directory
      // in a merged one is opaque, so its lookups never search the lowers.
      if (isDirEntry && !viaWork && this.redirectDir && parent.lowerDirs.length > 0) native.setxattr(dir, tmp, OPAQUE_XATTR, Y, 0)
      if (viaWork) {
        if (isDirEntry) {
          // A directory cannot replace the whiteout by rename: swap them.
          native.setxattr(dir, tmp, OPAQUE_XATTR, Y, 0)
          native.renameat2(dir, tmp, parent.upperFd, name, C.RENAME_EXCHANGE)
          native.unlinkat(dir, tmp, 0)
        } else {
          native.renameat2(dir, tmp, parent.upperFd, name, 0)
        }
      }
    } catch (err) {
      if (fd >= 0) native.close(fd)
      if (viaWork) this.upper.removeInWork(tmp)
      else if (native.lstatAtOrNull(dir, tmp)) native.unlinkat(dir, tmp, isDirEntry ? C.AT_REMOVEDIR : 0)
      throw err
    }
    this.changed(parent, isDirEntry ? 1 : 0)
    const node = this.existing(parent, name)
    node.nlookup++
    return { node, fd }
  }

  async mknod (parentId: number, name: string, mode: number, rdev: number, caller: Caller): Promise<Entry> {
    // A char device 0/0 is how the upper layer spells "deleted".
    if ((mode & S_IFMT) === S_IFCHR && rdev === 0) throw errnoError('EPERM', `cannot create a whiteout device: ${name}`)
    const { node } = await this.createEntry(this.node(parentId), name, caller, mode,
      (d, nm, perm) => { native.mknodat(d, nm, (mode & S_IFMT) | perm, rdev) })
    return { node, attr: this.attrOf(node) }
  }

  async mkdir (parentId: number, name: string, mode: number, caller: Caller): Promise<Entry> {
    const { node } = await this.createEntry(this.node(parentId), name, caller, S_IFDIR | (mode & 0o7777),
      (d, nm, perm) => { native.mkdirat(d, nm, perm) })
    return { node, attr: this.attrOf(node) }
  }

  async symlink (parentId: number, name: string, target: string, caller: Caller): Promise<Entry> {
    const { node } = await this.createEntry(this.node(parentId), name, caller, S_IFLNK | 0o777,
      (d, nm) => { native.symlinkat(target, d, nm) })
    return { node, attr: this.attrOf(node) }
  }

  async create (parentId: number, name: string, mode: number, flags: number, caller: Caller): Promise<Entry & { fd: number }> {
    const { node, fd } = await this.createEntry(this.node(parentId), name, caller, S_IFREG | (mode & 0o7777),
      (d, nm, perm) => native.openat(d, nm, (openFlags(flags) & ~C.O_ACCMODE) | C.O_RDWR | C.O_CREAT | C.O_EXCL, perm))
    return { node, attr: this.attrOf(node), fd }
  }

  /** Leaves a whiteout at `name` in the parent's upper dir, replacing whatever upper entry is there. */
  private whiteout (parent: Node, name: string, upperIsDir: boolean, upperExists: boolean): void {
    const upper = this.upper!
    if (!upperExists) {
      native.mknodat(parent.upperFd, name, S_IFCHR, 0)
      return
    }
    const wh = upper.whiteoutInWork()
    if (upperIsDir) {
      native.renameat2(upper.work, wh, parent.upperFd, name, C.RENAME_EXCHANGE)
      upper.removeInWork(wh)
    } else {
      native.renameat2(upper.work, wh, parent.upperFd, name, 0)
    }
  }

  async unlink (parentId: number, name: string): Promise<void> {
    const parent = this.node(parentId)
    const n = this.existing(parent, name)
    if (n.type === S_IFDIR) throw errnoError('EISDIR', n.path())
    await this.remove(parent, n)
  }

  async rmdir (parentId: number, name: string): Promise<void> {
    const parent = this.node(parentId)
    const n = this.existing(parent, name)
    if (n.type !== S_IFDIR) throw errnoError('ENOTDIR', n.path())
    if (this.listing(n).names.length > 0) throw errnoError('ENOTEMPTY', n.path())
    await this.remove(parent, n)
  }

  private async remove (parent: Node, n: Node): Promise<void> {
    if (!this.upper) throw errnoError('EROFS', `read-only union: ${n.path()}`)
    await this.ensureUpper(parent)
    const isDirNode = n.type === S_IFDIR
    this.keepForStat(n)
    if (n.hasLower) {
      this.whiteout(parent, n.name, isDirNode, n.upper)
    } else if (isDirNode) {
      // An upper-only dir may still hold whiteouts: move it aside, then empty it.
      const tmp = this.upper.tmpName()
      native.renameat2(parent.upperFd, n.name, this.upper.work, tmp, 0)
      this.upper.removeInWork(tmp)
    } else {
      native.unlinkat(parent.upperFd, n.name, 0)
    }
    this.changed(parent, isDirNode ? -1 : 0)
    this.detach(n)
  }

  async rename (parentId: number, name: string, newParentId: number, newName: string, flags: number): Promise<void> {
    const parent = this.node(parentId)
    const newParent = this.node(newParentId)
    if (!this.upper) throw errnoError('EROFS', `read-only union: ${parent.path()}/${name}`)
    if (newName.length > NAME_MAX) throw errnoError('ENAMETOOLONG', newName)
    const src = this.existing(parent, name)
    const dst = this.child(newParent, newName)
    const exchange = (flags & C.RENAME_EXCHANGE) !== 0
    if (src === dst) return
    if ((flags & C.RENAME_NOREPLACE) && dst) throw errnoError('EEXIST', `${newParent.path()}/${newName}`)
    if (exchange && !dst) throw errnoError('ENOENT', `${newParent.path()}/${newName}`)
    // A directory with lower parts moves by a redirect to them; without
    // redirect_dir it cannot move (the kernel answers the same: mv falls
    // back to copying).
    const samedir = parent === newParent
    const srcRedirect = this.redirectFor(src, samedir)
    const dstRedirect = exchange && dst ? this.redirectFor(dst, samedir) : null
    for (let a: Node | null = newParent; a; a = a.parent) if (a === src) throw errnoError('EINVAL', `${src.path()} into itself`)
    if (dst && !exchange) {
      if (src.type === S_IFDIR && dst.type !== S_IFDIR) throw errnoError('ENOTDIR', dst.path())
      if (src.type !== S_IFDIR && dst.type === S_IFDIR) throw errnoError('EISDIR', dst.path())
      if (dst.type === S_IFDIR && this.listing(dst).names.length > 0) throw errnoError('ENOTEMPTY', dst.path())
    }
    await this.ensureUpper(src)
    await this.ensureUpper(newParent)
    if (exchange && dst) await this.ensureUpper(dst)
    // Both names are about to point elsewhere.
    this.onChange(src.id)
    if (dst) this.onChange(dst.id)
    const ud = parent.upperFd
    const nd = newParent.upperFd
    const dstUpper = native.lstatAtOrNull(nd, newName)
    const dstWhiteout = dstUpper !== null && isWhiteout(dstUpper)
    const lowerAtDst = dst ? dst.hasLower : this.lowerPositive(newParent, newName)
    // As the kernel does: a directory moved into a merged directory becomes
    // opaque, so that nothing of the lowers can ever show through it.
    const srcOpaque = src.type === S_IFDIR && !src.opaque && !mergedOrLower(src) && (newParent.lowerDirs.length > 0 || dstWhiteout)
    const dstOpaque = exchange && dst !== null && dst.type === S_IFDIR && !dst.opaque && !mergedOrLower(dst) && parent.lowerDirs.length > 0
    // Set before the move, as the kernel does: a crash between leaves a
    // redirect naming the dir's own old place, which still resolves.
    if (srcRedirect !== null) native.setxattr(ud, name, REDIRECT_XATTR, Buffer.from(srcRedirect, 'latin1'), 0)
    if (dstRedirect !== null) native.setxattr(nd, newName, REDIRECT_XATTR, Buffer.from(dstRedirect, 'latin1'), 0)
    if (exchange && dst) {
      native.renameat2(ud, name, nd, newName, C.RENAME_EXCHANGE)
      if (srcOpaque) native.setxattr(nd, newName, OPAQUE_XATTR, Y, 0)
      if (dstOpaque) native.setxattr(ud, name, OPAQUE_XATTR, Y, 0)
    } else {
      if (dst) this.keepForStat(dst)
      if (dst && dst.type === S_IFDIR && dst.upper) {
        // An empty merged target may still hold whiteouts in its upper dir.
        const tmp = this.upper.tmpName()
        native.renameat2(nd, newName, this.upper.work, tmp, 0)
        this.upper.removeInWork(tmp)
      }
      if (srcOpaque) native.setxattr(ud, name, OPAQUE_XATTR, Y, 0)
      if (src.hasLower) {
        // Leave a whiteout at the source in the same step.
        native.renameat2(ud, name, nd, newName, dstWhiteout ? C.RENAME_EXCHANGE : C.RENAME_WHITEOUT)
      } else if (dstWhiteout && src.type === S_IFDIR) {
        native.renameat2(ud, name, nd, newName, C.RENAME_EXCHANGE)
        native.unlinkat(ud, name, 0)
      } else {
        native.renameat2(ud, name, nd, newName, 0)
      }
    }
    this.markImpure(newParent)
    const srcDir = src.type === S_IFDIR ? 1 : 0
    const dstDir = dst && dst.type === S_IFDIR ? 1 : 0
    this.changed(parent, exchange ? dstDir - srcDir : -srcDir)
    this.changed(newParent, exchange ? srcDir - dstDir : srcDir - dstDir)
    // Move the nodes to match.
    parent.dropChild(name)
    if (dst) newParent.dropChild(newName)
    const srcHasLower = src.hasLower
    src.parent = newParent
    src.name = newName
    src.hasLower = lowerAtDst
    newParent.setChild(newName, src)
    if (dst) {
      if (exchange) {
        dst.parent = parent
        dst.name = name
        dst.hasLower = srcHasLower
        parent.setChild(name, dst)
      } else {
        this.detach(dst)
      }
    }
    if (srcOpaque) src.opaque = true
    if (dstOpaque && dst) dst.opaque = true
    if (srcRedirect !== null) src.redirect = srcRedirect
    if (dstRedirect !== null && dst) dst.redirect = dstRedirect
  }

  /**
   * The redirect a directory with lower parts needs before it moves (null:
   * none needed, or the one it has still holds), as the kernel's
   * ovl_set_redirect: within one parent its old name; elsewhere the
   * absolute path of its old place in the lowers, built from its own and
   * its ancestors' redirects. EXDEV where redirect_dir is off or the path is
   * too long (callers such as mv then copy).
   */
  private redirectFor (n: Node, samedir: boolean): string | null {
    if (!mergedOrLower(n)) return null
    if (!this.redirectDir) throw errnoError('EXDEV', `${n.path()}: directory with lower layers (redirect_dir is off)`)
    if (n.redirect !== null && (samedir || n.redirect.startsWith('/'))) return null
    if (samedir) return n.name
    const parts: string[] = []
    for (let d: Node | null = n; d && d.parent; d = d.parent) {
      const part = d.redirect ?? d.name
      parts.unshift(part)
      if (part.startsWith('/')) break
    }
    const path = parts.join('/')
    const abs = path.startsWith('/') ? path : '/' + path
    if (Buffer.byteLength(abs, 'latin1') > REDIRECT_MAX) throw errnoError('EXDEV', `${n.path()}: redirect longer than ${REDIRECT_MAX} bytes`)
    return abs
  }

  async link (id: number, newParentId: number, newName: string): Promise<Entry> {
    const n = this.node(id)
    if (n.type === S_IFDIR) throw errnoError('EPERM', `hard link to directory ${n.path()}`)
    const newParent = this.node(newParentId)
    if (this.child(newParent, newName)) throw errnoError('EEXIST', `${newParent.path()}/${newName}`)
    await this.ensureUpper(n)
    await this.ensureUpper(newParent)
    const src = this.upperParent(n)
    const ust = native.lstatAtOrNull(newParent.upperFd, newName)
    if (ust && isWhiteout(ust)) {
      const tmp = this.upper!.tmpName()
      native.linkat(src.upperFd, n.name, this.upper!.work, tmp, 0)
      native.renameat2(this.upper!.work, tmp, newParent.upperFd, newName, 0)
    } else {
      native.linkat(src.upperFd, n.name, newParent.upperFd, newName, 0)
    }
    if (this.impure.has(src)) this.markImpure(newParent)
    this.changed(newParent)
    const node = this.existing(newParent, newName)
    node.nlookup++
    return { node, attr: this.attrOf(node) }
  }

  /** Opens a file: a backing fd for the adapter to serve data from. Write opens copy up first. */
  async open (id: number, flags: number): Promise<{ fd: number, keepCache: boolean, lower: boolean }> {
    const n = this.node(id)
    if (n.type === S_IFDIR) throw errnoError('EISDIR', n.path())
    const writing = (flags & C.O_ACCMODE) !== C.O_RDONLY || (flags & C.O_TRUNC) !== 0
    if (writing) await this.ensureUpper(n, flags & C.O_TRUNC ? 0 : -1)
    const f = openFlags(flags)
    if (n.upper) {
      const p = this.upperParent(n)
      return { fd: native.openat(p.upperFd, n.name, f | C.O_NOFOLLOW, 0), keepCache: false, lower: false }
    }
    const ld = n.parent!.lowerDirs.find((d) => d.layer === n.lower)!
    // A lower file never changes: the kernel may keep its pages across opens.
    return { fd: await this.layers[n.lower].open(ld.dir, n.name, f), keepCache: true, lower: true }
  }

  opendir (id: number): number {
    const n = this.node(id)
    if (n.type !== S_IFDIR) throw errnoError('ENOTDIR', n.path())
    // A snapshot: seekdir offsets stay valid and entries added meanwhile do
    // not disturb a listing in progress.
    const h = this.nextHandle++
    this.dirHandles.set(h, { node: n, listing: this.listing(n) })
    return h
  }

  /**
   * Where an entry that lives only in lower layers can be opened directly:
   * the OS fd of its lower directory and its name. null for anything the
   * upper layer has a say in.
   */
  lowerLocation (n: Node): { dirfd: number, name: string } | null {
    // Native code would show the override xattr of such a layer's files.
    if ((this.lowerOverride[n.lower] ?? null) !== null) return null
    // Directories too: their xattrs are the entry's in its topmost layer, as
    // xattrTarget reads them (the kernel never sends OPEN for one).
    if (n.upper || n.unlinked || !n.parent) return null
    const ld = n.parent.lowerDirs.find((d) => d.layer === n.lower)
    if (!ld) return null
    const dirfd = this.layers[n.lower].fdOf(ld.dir)
    return dirfd >= 0 ? { dirfd, name: n.name } : null
  }

  /**
   * Where native code may answer for an upper entry, live from the backing
   * file: a non-directory at its parent's upper fd and its name; a
   * directory (the root too) at its own fd, name '', with the link count
   * the union shows for it (mergedNlink; 0 for the backing one's). null for
   * anything else, or a merged directory whose count is not known yet.
   */
  upperLocation (n: Node): UpperLocation | null {
    // Native code would answer GETATTR with the real owner and mode.
    if (this.upperOverride !== null) return null
    if (!n.upper || n.unlinked || n.copyUp) return null
    if (n.type === S_IFDIR) {
      const nlink = n.upperFd >= 0 ? this.mergedNlink(n, false) : null
      return nlink === null ? null : { dirfd: n.upperFd, name: '', nlink, alone: n.lowerDirs.length === 0 }
    }
    if (!n.parent || n.parent.upperFd < 0) return null
    return { dirfd: n.parent.upperFd, name: n.name, nlink: 0, alone: false }
  }

  dirHandle (h: number): DirHandle {
    const d = this.dirHandles.get(h)
    if (!d) throw errnoError('EBADF', `directory handle ${h}`)
    return d
  }

  /** rewinddir(3): the handle shows the directory as it is now, as POSIX says. */
  rewinddir (h: number): void {
    const d = this.dirHandle(h)
    d.listing = this.listing(d.node)
  }

  releasedir (h: number): void {
    this.dirHandles.delete(h)
  }

  fsyncdir (id: number): void {
    const n = this.node(id)
    if (n.upperFd >= 0) native.fsync(n.upperFd)
  }

  statfs (): Float64Array {
    return this.upper ? native.statfs(this.upper.root) : this.layers[0].statfs()
  }

  /** The fd statfs() reads, where native code may read it too (open for the union's life), else -1. */
  statfsFd (): number {
    return this.upper ? this.upper.root : -1
  }

  /** Where to read xattrs of a node: (dirfd-like handle, name, layer or null for upper). */
  private xattrTarget (n: Node): { layer: LayerSource | null, dir: number, name: string } {
    if (n.upper) {
      if (n.upperFd >= 0) return { layer: null, dir: n.upperFd, name: '' }
      return { layer: null, dir: n.parent!.upperFd, name: n.name }
    }
    if (!n.parent) return { layer: this.layers[n.lowerDirs[0].layer], dir: n.lowerDirs[0].dir, name: '' }
    const ld = n.parent.lowerDirs.find((d) => d.layer === n.lower)!
    return { layer: this.layers[n.lower], dir: ld.dir, name: n.name }
  }

  getxattr (id: number, xname: string): Buffer {
    if (isPrivateXattr(xname)) throw errnoError('EOPNOTSUPP', `${xname} is reserved for the overlay`)
    // As fuse-overlayfs: an owner record is not there for the mount's users.
    if (this.hiddenXattrs.has(xname)) throw errnoError('ENODATA', xname)
    const t = this.xattrTarget(this.node(id))
    const v = t.layer ? t.layer.getxattr(t.dir, t.name, xname) : native.getxattr(t.dir, t.name, xname)
    if (v === null) throw errnoError('ENODATA', xname)
    return v
  }

  listxattr (id: number): string[] {
    const t = this.xattrTarget(this.node(id))
    const names = t.layer ? t.layer.listxattr(t.dir, t.name) : native.listxattr(t.dir, t.name)
    return names.filter((x) => !isPrivateXattr(x) && !this.hiddenXattrs.has(x))
  }

  async setxattr (id: number, xname: string, value: Buffer, flags: number): Promise<void> {
    if (isPrivateXattr(xname)) throw errnoError('EOPNOTSUPP', `${xname} is reserved for the overlay`)
    // Setting it would be a chown that the kernel never checked.
    if (this.hiddenXattrs.has(xname)) throw errnoError('EPERM', `${xname} holds the owner and mode; use chown/chmod`)
    const n = this.node(id)
    await this.ensureUpper(n)
    const t = this.xattrTarget(n)
    native.setxattr(t.dir, t.name, xname, value, flags)
  }

  async removexattr (id: number, xname: string): Promise<void> {
    if (isPrivateXattr(xname)) throw errnoError('EOPNOTSUPP', `${xname} is reserved for the overlay`)
    if (this.hiddenXattrs.has(xname)) throw errnoError('EPERM', `${xname} holds the owner and mode; use chown/chmod`)
    const n = this.node(id)
    if (!this.listxattr(id).includes(xname)) throw errnoError('ENODATA', xname)
    await this.ensureUpper(n)
    const t = this.xattrTarget(n)
    native.removexattr(t.dir, t.name, xname)
  }
}

/** An xattr read where failure (no xattrs on that filesystem) means none. */
function readXattr (get: () => Buffer | null): Buffer | null {
  try {
    return get()
  } catch {
    return null
  }
}

/** Flags for opening the backing file: native's rule (the fast path opens with it too). */
function openFlags (flags: number): number {
  return flags & ~C.BACKING_OPEN_DROP
}

/** A directory that has lower parts (merged or lower-only): moving it needs a redirect. */
function mergedOrLower (n: Node): boolean {
  return n.type === S_IFDIR && (n.lowerDirs.length > 0 || !n.upper)
}

/** A redirect as stored: a name in the same parent, or an absolute path from the layers' roots. */
function checkRedirect (v: Buffer, where: string): string {
  const r = v.toString('latin1')
  const bad = r.length === 0 || r.includes('\0') || (!r.startsWith('/') && r.includes('/')) ||
    splitRedirect(r).some((p) => p === '' || p === '.' || p === '..')
  if (bad) throw errnoError('EIO', `invalid overlay redirect ${JSON.stringify(r)} at ${where}`)
  return r
}

function splitRedirect (r: string): string[] {
  return r.startsWith('/') ? r.slice(1).split('/') : [r]
}
