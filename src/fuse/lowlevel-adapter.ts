// The adapter between our libfuse3 low-level binding and the union core:
// each request becomes one UnionFs call, each error a negative errno (an
// error without an errno code becomes EIO and is logged). Nothing about
// overlay semantics lives here. Another binding would get its own adapter
// file beside this one.
import { native, OPEN_KEEP_CACHE, OPEN_CACHE_READDIR, OPEN_LOWER, OPEN_FILE, STAT_LEN, S_INO, S_MODE, type RawStat } from '../native/binding.js'
import { decodeRequest, FuseOp, FUSE_OP_NAMES, type FuseDispatch, type FuseRequest } from '../native/fuse-requests.js'
import { UnionFs, ROOT_ID, type DirHandle } from '../union/union-fs.js'
import type { Node } from '../union/node.js'
import type { MergedListing } from '../union/merged-listing.js'
import { errnoOf } from '../base/errno-error.js'
import { EntryIndex } from './entry-index.js'
import { S_IFDIR } from '../base/file-mode.js'

const EIO = 5; const ENOENT = 2; const ERANGE = 34
const NO_ATTR = new Float64Array(STAT_LEN)
const DT_DIR = 4

const align8 = (n: number): number => (n + 7) & ~7
/** Sizes of struct fuse_dirent / fuse_direntplus records (fuse_kernel.h). */
const direntSize = (name: string): number => align8(24 + name.length)
const direntPlusSize = (name: string): number => align8(152 + name.length)

export interface AdapterOptions {
  debug?: boolean
  log?: (line: string) => void
  onExit?: (code: number) => void
}

interface Listing { names: string[], inos: number[], types: number[], dirNode: Node, source: MergedListing }

/** What every OPENDIR gets: the kernel keeps listings, and drops one itself on each change through this mount. */
const DIR_OPEN_BITS = OPEN_CACHE_READDIR | OPEN_KEEP_CACHE
/** Directory handles from here up were opened by the loop threads (native/dir-opens.h). */
const NATIVE_DIR_FH = native.nativeDirFhBase

export class LowLevelAdapter {
  private readonly log: (line: string) => void
  private readonly listings = new WeakMap<DirHandle, Listing>()
  /** Directories whose OPENDIR the loop threads answer (native.dirStable) until they change. */
  private readonly stableDirs = new Set<number>()
  /** Natively opened directory handle -> the union's handle, opened at its first READDIR. */
  private readonly lateHandles = new Map<number, number>()
  /** Requests whose answer is still on its way (a promise), and who waits for there to be none. */
  private pending = 0
  private drained: (() => void) | null = null
  private readonly index: EntryIndex

  constructor (private readonly fs: UnionFs, private readonly opts: AdapterOptions = {}) {
    this.log = opts.log ?? ((l) => process.stderr.write(l + '\n'))
    // Without an upper layer nothing is ever copied up, so a lower file's
    // data may go straight from the kernel to its backing file.
    native.passthroughAllowLowers(fs.upper === null)
    native.fastStatfs(fs.statfsFd())
    this.index = new EntryIndex(fs, (n, attr) => { this.remember(n, attr) })
  }

  /** The dispatch function handed to native.fuseMount. */
  readonly dispatch: FuseDispatch = (op, id, ino, a0, a1, a2, a3, a4, a5): void => {
    const r = decodeRequest(op, id, ino, a0, a1, a2, a3, a4, a5)
    switch (r.op) {
      case FuseOp.EXIT:
        this.opts.onExit?.(r.code)
        return
      case FuseOp.FORGET:
        for (let i = 0; i < r.forgets.length; i += 2) {
          const id = r.forgets[i]
          this.fs.forget(id, r.forgets[i + 1])
          // Nothing more will be looked up in a directory the kernel forgot.
          if (this.index.has(id) && (this.fs.peek(id)?.nlookup ?? 0) === 0) this.index.dirChanged(id)
        }
        return
      case FuseOp.RELEASEDIR:
        this.releasedir(r.fh)
        return
    }
    if (this.opts.debug) this.log(`strata: ${describe(r)}`)
    try {
      const p = this.handle(r)
      if (p) {
        this.pending++
        p.catch((err: unknown) => { this.fail(op, id, err) }).finally(() => {
          if (--this.pending === 0) this.drained?.()
        })
      }
    } catch (err) {
      this.fail(op, id, err)
    }
  }

  /**
   * Once the mount has ended and every request in hand is done with the
   * union: closes the union's fds (a spare serves its next mount in this
   * process: cli/spare-main.ts).
   */
  async close (): Promise<void> {
    if (this.pending > 0) await new Promise<void>((resolve) => { this.drained = resolve })
    this.fs.close()
  }

  private fail (op: FuseOp, id: number, err: unknown): void {
    let errno = errnoOf(err)
    if (!errno) {
      errno = EIO
      this.log(`strata: ${FUSE_OP_NAMES[op] ?? op} failed: ${(err as Error)?.stack ?? String(err)}`)
    } else if (this.opts.debug) {
      this.log(`strata:   -> ${(err as Error).message}`)
    }
    native.replyErr(id, errno)
  }

  // Nodes are handed to the fast path before the reply that lets the
  // kernel send their next request: a chown right after a stat (runc on a
  // container's root) is then answered natively too.
  private entry (id: number, n: Node, attr: RawStat): void {
    this.remember(n, attr)
    native.replyEntry(id, n.id, 0, attr, this.fs.timeout, this.fs.attrTimeout(n, attr))
  }

  /**
   * Hands a node to the native fast path: a lower-only node never changes
   * until the union says so (changed()); an upper file is answered live from
   * its backing file until it moves or goes.
   */
  private remember (n: Node, attr: RawStat): void {
    if (n.type === S_IFDIR && !n.unlinked) this.stable(n.id)
    if (n.unlinked || n.inFastPath) return
    if (n.upper) {
      const up = this.fs.upperLocation(n)
      if (!up) return
      native.fastSetUpper(n.id, up.dirfd, up.name, n.ino, this.fs.timeout, up.nlink, up.alone)
    } else {
      const loc = this.fs.lowerLocation(n)
      native.fastSet(n.id, loc?.dirfd ?? -1, loc?.name ?? '', attr, this.fs.attrTimeout(n, attr), loc !== null)
    }
    n.inFastPath = true
  }

  /**
   * From now until the union reports a change in it (changed()), the loop
   * threads answer the directory's OPENDIR with the bits JS would give, and
   * JS takes its listing at the first READDIR, if the kernel sends one. So
   * a directory the kernel meets in a lookup or a listing is opened without
   * JS even the first time; one that changed is opened by JS once again.
   */
  private stable (id: number): void {
    if (this.stableDirs.has(id)) return
    this.stableDirs.add(id)
    native.dirStable(id, DIR_OPEN_BITS)
  }

  /**
   * Gets ready what a container runtime asks first, the root's attributes
   * (runc and podman stat it, then chown it): its merged listing is counted
   * for st_nlink and the root handed to the fast path, so that neither
   * request waits for JS. A failure is left for the request to report.
   */
  prime (): void {
    try {
      this.remember(this.fs.node(ROOT_ID), this.fs.getattr(ROOT_ID))
    } catch { /* the GETATTR that comes will say why */ }
  }

  /** UnionFs's onCopyUp hook: fds open on the lower file now read the upper copy. */
  readonly copiedUp = (id: number, dirfd: number, name: string): void => {
    native.reopenLower(id, dirfd, name)
  }

  /** UnionFs's onChange hook: stop answering for this node natively. */
  readonly changed = (id: number): void => {
    const n = this.fs.peek(id)
    if (n?.inFastPath === true) {
      n.inFastPath = false
      native.fastDrop(id)
    }
    if (this.stableDirs.delete(id)) native.dirUnstable(id)
    if (n && n.nlookup > 0) this.index.nodeChanged(n)
    this.index.dirChanged(id)
  }

  /**
   * UnionFs's onEntriesChanged hook: JS lists the directory again, and an
   * upper directory answered natively stays so with its new link count
   * (a container start makes a directory, then stats its parent, 5 times).
   */
  readonly entriesChanged = (id: number): void => {
    this.index.dirChanged(id)
    if (this.stableDirs.delete(id)) native.dirUnstable(id)
    const n = this.fs.peek(id)
    if (n?.inFastPath !== true) return
    const up = this.fs.upperLocation(n)
    if (up && up.name === '') native.fastSetNlink(id, up.nlink)
    else this.changed(id)
  }

  /** Answers one request (FORGET, RELEASEDIR and EXIT never get here). */
  private handle (r: FuseRequest): Promise<void> | void {
    const fs = this.fs
    const id = r.id
    switch (r.op) {
      case FuseOp.LOOKUP: {
        const e = fs.lookup(r.ino, r.name)
        // A negative entry the kernel may cache: every creation goes through it.
        if (!e) native.replyEntry(id, 0, 0, NO_ATTR, fs.timeout, 0)
        else {
          this.index.handedOut(r.ino, r.name)
          this.entry(id, e.node, e.attr)
        }
        this.index.lookedUp(r.ino, r.name)
        return
      }
      case FuseOp.GETATTR: {
        const n = fs.node(r.ino)
        const attr = fs.getattr(r.ino, r.fh)
        this.remember(n, attr)
        native.replyAttr(id, attr, fs.attrTimeout(n, attr))
        return
      }
      case FuseOp.SETATTR:
        return fs.setattr(r.ino, r.valid, r.attr, r.fh).then((attr) => {
          const n = fs.node(r.ino)
          this.remember(n, attr)
          native.replyAttr(id, attr, fs.attrTimeout(n, attr))
        })
      case FuseOp.READLINK:
        native.replyReadlink(id, fs.readlink(r.ino))
        return
      case FuseOp.MKNOD:
        return fs.mknod(r.ino, r.name, r.mode, r.rdev, r.caller).then((e) => { this.entry(id, e.node, e.attr) })
      case FuseOp.MKDIR:
        return fs.mkdir(r.ino, r.name, r.mode, r.caller).then((e) => { this.entry(id, e.node, e.attr) })
      case FuseOp.SYMLINK:
        return fs.symlink(r.ino, r.name, r.target, r.caller).then((e) => { this.entry(id, e.node, e.attr) })
      case FuseOp.UNLINK:
        return fs.unlink(r.ino, r.name).then(() => { native.replyErr(id, 0) })
      case FuseOp.RMDIR:
        return fs.rmdir(r.ino, r.name).then(() => { native.replyErr(id, 0) })
      case FuseOp.RENAME:
        return fs.rename(r.ino, r.name, r.newParent, r.newName, r.flags).then(() => { native.replyErr(id, 0) })
      case FuseOp.LINK:
        return fs.link(r.ino, r.newParent, r.newName).then((e) => {
          this.entry(id, e.node, e.attr)
          // The kernel sees the new name as another inode: refresh the old
          // one's link count (attributes only, safe from the JS thread).
          native.notifyInvalInode(r.ino)
        })
      case FuseOp.OPEN:
        return fs.open(r.ino, r.flags).then(({ fd, keepCache, lower }) => {
          native.replyOpen(id, fd, OPEN_FILE | (keepCache ? OPEN_KEEP_CACHE : 0) | (lower ? OPEN_LOWER : 0), true)
          // A copy-up that finished between the open and this reply has
          // already switched the other fds: switch this one too.
          if (lower) {
            const up = fs.upperLocation(fs.node(r.ino))
            if (up) native.reopenLower(r.ino, up.dirfd, up.name)
          }
        })
      case FuseOp.CREATE:
        return fs.create(r.ino, r.name, r.mode, r.flags, r.caller).then((e) => {
          this.remember(e.node, e.attr)
          native.replyCreate(id, e.node.id, 0, e.attr, fs.timeout, fs.attrTimeout(e.node, e.attr), e.fd, 0)
        })
      case FuseOp.OPENDIR:
        // Every change to a directory goes through this mount, and the kernel
        // drops its cached listing on each: let it keep listings.
        native.replyOpen(id, fs.opendir(r.ino), DIR_OPEN_BITS)
        this.stable(r.ino)
        return
      case FuseOp.READDIR:
        this.readdir(id, r.size, r.offset, r.fh, this.unionHandle(r.fh, r.ino))
        return
      case FuseOp.READDIRPLUS:
        this.readdirplus(id, r.size, r.offset, r.fh, this.unionHandle(r.fh, r.ino))
        return
      case FuseOp.FSYNCDIR:
        fs.fsyncdir(r.ino)
        native.replyErr(id, 0)
        return
      case FuseOp.STATFS:
        native.replyStatfs(id, fs.statfs())
        return
      case FuseOp.SETXATTR:
        return fs.setxattr(r.ino, r.name, r.value, r.flags).then(() => { native.replyErr(id, 0) })
      case FuseOp.REMOVEXATTR:
        return fs.removexattr(r.ino, r.name).then(() => { native.replyErr(id, 0) })
      case FuseOp.GETXATTR:
        this.replySized(id, fs.getxattr(r.ino, r.name), r.size)
        return
      case FuseOp.LISTXATTR: {
        const names = fs.listxattr(r.ino)
        this.replySized(id, Buffer.from(names.map((n) => n + '\0').join(''), 'latin1'), r.size)
        return
      }
      default:
        native.replyErr(id, 38 /* ENOSYS */)
    }
  }

  private replySized (id: number, data: Buffer, size: number): void {
    if (size === 0) native.replyXattrSize(id, data.length)
    else if (data.length > size) native.replyErr(id, ERANGE)
    else native.replyBuf(id, data)
  }

  /**
   * The union's handle for a kernel one: a handle the loop threads opened
   * gets its listing now, at its first READDIR (the kernel's cached listing
   * was dropped or is stale).
   */
  private unionHandle (fh: number, ino: number): number {
    if (fh < NATIVE_DIR_FH) return fh
    let h = this.lateHandles.get(fh)
    if (h === undefined) {
      h = this.fs.opendir(ino)
      this.lateHandles.set(fh, h)
    }
    return h
  }

  /**
   * The reply about to go out through kernel handle `kfh` ends the listing:
   * for a native handle the loop threads answer the read at the end (and the
   * RELEASEDIR) from now on, so the union's handle is dropped here. Saves a
   * round trip per directory a walk like find lists.
   */
  private atEnd (kfh: number, end: number): void {
    if (kfh < NATIVE_DIR_FH) return
    native.dirAtEnd(kfh, end)
    this.releasedir(kfh)
  }

  private releasedir (fh: number): void {
    const h = fh < NATIVE_DIR_FH ? fh : this.lateHandles.get(fh)
    this.lateHandles.delete(fh)
    if (h !== undefined) this.fs.releasedir(h)
  }

  /**
   * ".", ".." and the handle's snapshot, built once per pass: a read from
   * offset 0 (the first, or after rewinddir) takes the directory as it is.
   */
  private entries (fh: number, off: number): Listing {
    if (off === 0) this.fs.rewinddir(fh)
    const h = this.fs.dirHandle(fh)
    let l = this.listings.get(h)
    if (!l || l.source !== h.listing) {
      const parent = h.node.parent ?? h.node
      l = {
        names: ['.', '..', ...h.listing.names],
        inos: [h.node.ino, parent.ino, ...h.listing.inos],
        types: [DT_DIR, DT_DIR, ...h.listing.types],
        dirNode: h.node,
        source: h.listing,
      }
      this.listings.set(h, l)
    }
    return l
  }

  private readdir (id: number, size: number, off: number, kfh: number, fh: number): void {
    const { names, inos, types, dirNode } = this.entries(fh, off)
    let end = off
    for (let used = 0; end < names.length; end++) {
      used += direntSize(names[end])
      if (used > size) break
    }
    if (end === names.length) this.atEnd(kfh, end)
    this.index.listedBare(dirNode.id, names.slice(Math.max(off, 2), end))
    const offs = new Float64Array(end - off)
    for (let i = 0; i < offs.length; i++) offs[i] = off + i + 1
    native.replyDir(id, size, names.slice(off, end), Float64Array.from(inos.slice(off, end)), Uint8Array.from(types.slice(off, end)), offs)
  }

  private readdirplus (id: number, size: number, off: number, kfh: number, fh: number): void {
    const { names, inos, types, dirNode } = this.entries(fh, off)
    const outNames: string[] = []
    const offs: number[] = []
    const nodeids: number[] = []
    const attrs: RawStat[] = []
    const ets: number[] = []
    const ats: number[] = []
    let used = 0
    let i = off
    for (; i < names.length; i++) {
      const name = names[i]
      const need = direntPlusSize(name)
      if (used + need > size) break
      if (i < 2) {
        const attr = new Float64Array(STAT_LEN)
        attr[S_INO] = inos[i]
        attr[S_MODE] = types[i] << 12
        outNames.push(name); offs.push(i + 1); nodeids.push(0); attrs.push(attr); ets.push(0); ats.push(0)
      } else {
        let e
        try {
          e = this.fs.lookup(dirNode.id, name)
        } catch (err) {
          if (errnoOf(err) === ENOENT) e = null
          else throw err
        }
        if (!e) continue // gone since the snapshot was taken
        this.index.handedOut(dirNode.id, name)
        outNames.push(name); offs.push(i + 1); nodeids.push(e.node.id); attrs.push(e.attr)
        ets.push(this.fs.timeout); ats.push(this.fs.attrTimeout(e.node, e.attr))
        this.remember(e.node, e.attr)
      }
      used += need
    }
    // The kernel's next read starts after the last entry sent.
    if (i >= names.length) this.atEnd(kfh, offs.length > 0 ? offs[offs.length - 1] : off)
    const filled = native.replyDirPlus(id, size, outNames, Float64Array.from(offs), Float64Array.from(nodeids), attrs, Float64Array.from(ets), Float64Array.from(ats))
    // Entries that did not go out hold no kernel reference.
    for (let i = Math.max(filled, 0); i < nodeids.length; i++) if (nodeids[i]) this.fs.forget(nodeids[i], 1)
  }
}

/** One debug line: the request's name and fields. */
function describe (r: FuseRequest): string {
  const fields = Object.entries(r).filter(([k]) => k !== 'op' && k !== 'id').map(([k, v]) =>
    `${k}=${typeof v === 'string' ? JSON.stringify(v) : v instanceof Float64Array ? '[attr]' : Buffer.isBuffer(v) ? `<${v.length} bytes>` : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
  return [FUSE_OP_NAMES[r.op], ...fields].join(' ')
}

export { ROOT_ID }
