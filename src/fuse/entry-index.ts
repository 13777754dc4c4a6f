// Lookups made ahead for a directory the kernel is walking, so that the loop
// threads answer them (native/entry-index.h has the native half and the
// reference rule).
//
// A READDIRPLUS gives the kernel the first 32 KiB of a listing with
// attributes; the kernel reads the rest of a big directory with plain
// READDIRs, since it asks for attributes again only after a LOOKUP in it.
// A walker (find, ls -l, du, tar) then looks up every name that came
// without them: a JS round trip each, about 60 us above a native answer.
// So the first LOOKUP of such a name makes the entries of all the others at
// once here, by the union's own lookup. A directory only listed (ls) or only
// looked into (exec of /usr/bin/x) is never indexed: no name came bare, or
// none was looked up after.
import { native } from '../native/binding.js'
import type { RawStat } from '../native/binding.js'
import type { UnionFs } from '../union/union-fs.js'
import type { Node } from '../union/node.js'

/** Directories whose bare names are kept for a LOOKUP to come: a walk looks into few at a time. */
const MAX_BARE_DIRS = 64
/** Entries made at one LOOKUP: a few ms of lstats. */
const MAX_AHEAD = 4096

export class EntryIndex {
  /** Directory id -> names the kernel got without attributes, oldest directory first. */
  private readonly bare = new Map<number, string[]>()
  /** Directories with entries in the native index. */
  private readonly indexed = new Set<number>()

  constructor (
    private readonly fs: UnionFs,
    /** Hands a node to the native fast path (its GETATTR follows the LOOKUP). */
    private readonly remember: (n: Node, attr: RawStat) => void
  ) {}

  /** A plain READDIR sent these names of `dir` (no "." or ".."); the array is kept. */
  listedBare (dir: number, names: string[]): void {
    if (names.length === 0) return
    const had = this.bare.get(dir)
    if (had) {
      for (const n of names) had.push(n)
      return
    }
    if (this.bare.size >= MAX_BARE_DIRS) this.bare.delete(this.bare.keys().next().value!)
    this.bare.set(dir, names)
  }

  /**
   * JS answered a LOOKUP of `name` in `dir` (after the reply went out): if
   * the kernel listed the directory bare, the walk is on, and the other
   * names are indexed.
   */
  lookedUp (dir: number, name: string): void {
    const names = this.bare.get(dir)
    if (!names) return
    // The names after this one, as a walk meets them in listing order; a
    // window at a time, so that one request never holds the JS thread for
    // a whole huge directory. The rest wait for a LOOKUP of their own.
    const from = names.indexOf(name) + 1
    // Not a name that came bare (one of the first READDIRPLUS, or one
    // indexed already and raced here): no sign of a walk.
    if (from === 0) return
    const ahead = names.slice(from, from + MAX_AHEAD)
    const rest = names.slice(0, from - 1).concat(names.slice(from + MAX_AHEAD))
    if (rest.length > 0) this.bare.set(dir, rest)
    else this.bare.delete(dir)
    const fs = this.fs
    const out: string[] = []
    const ids: number[] = []
    const attrs: RawStat[] = []
    const timeouts: number[] = []
    for (const n of ahead) {
      let e
      try {
        e = fs.lookup(dir, n)
      } catch {
        continue // its own LOOKUP will say why
      }
      if (!e) continue
      // The kernel may hold this node already (an earlier lookup): its
      // attributes could change under an entry made now.
      if (e.node.nlookup > 1) {
        fs.forget(e.node.id, 1)
        continue
      }
      this.remember(e.node, e.attr)
      out.push(n); ids.push(e.node.id); attrs.push(e.attr); timeouts.push(fs.attrTimeout(e.node, e.attr))
    }
    if (out.length === 0) return
    native.entryIndexSet(dir, out, Float64Array.from(ids), attrs, fs.timeout, Float64Array.from(timeouts))
    this.indexed.add(dir)
  }

  /** JS hands `name`'s node in `dir` to the kernel itself: the index gives its reference back. */
  handedOut (dir: number, name: string): void {
    if (!this.indexed.has(dir)) return
    const id = native.entryIndexTake(dir, name)
    if (id) this.forgetLater([id])
  }

  /** A node changes (copy-up, rename, removal): its entry must not be answered any more. */
  nodeChanged (n: Node): void {
    const p = n.parent
    if (p && this.indexed.has(p.id)) this.handedOut(p.id, n.name)
  }

  /** `dir`'s entries change, or the kernel forgot it: every entry goes. */
  dirChanged (dir: number): void {
    this.bare.delete(dir)
    if (!this.indexed.delete(dir)) return
    this.forgetLater(native.entryIndexDrop(dir))
  }

  has (dir: number): boolean {
    return this.indexed.has(dir)
  }

  // Run as a FORGET from the kernel would be, between two requests, never
  // inside the union operation whose change hook took the entries back.
  private forgetLater (ids: ArrayLike<number>): void {
    if (ids.length === 0) return
    queueMicrotask(() => {
      for (let i = 0; i < ids.length; i++) this.fs.forget(ids[i], 1)
    })
  }
}
