// The attributes of lower-only entries the union keeps at hand: those of
// the last WINDOW entries it resolved. A lower entry's attributes never
// change (immutable layers), the fast path answers its GETATTRs from its
// own copy once the kernel has it, and JS wants them again only rarely
// (a copy-up, a second LOOKUP of the node): then they are read again from
// the layer. Keeping one per node cost ~490 bytes each (a Float64Array over
// an ArrayBuffer of its own, with its backing store's bookkeeping in native
// memory): 17 MiB after a find of the bench tree.
//
// The window's stats are views into shared chunks, so one costs its view
// and its 128 bytes. Slots are never reused by hand: a chunk goes when the
// last view into it is collected, so a holder of a view (a copy-up in
// flight after a FORGET) never sees it change; first in is first out, so
// chunks empty in the order they were filled.
import { STAT_LEN, type RawStat } from '../native/binding.js'

const WINDOW = 4096
const SLOTS = 128
const SLOT_BYTES = STAT_LEN * Float64Array.BYTES_PER_ELEMENT

export class LowerStats {
  private readonly kept = new Map<number, RawStat>()
  // Outside the window: unlinked nodes the kernel still holds, whose parent
  // (and so the way back to the layer) may be gone before they are.
  private readonly pinned = new Map<number, RawStat>()
  private chunk = new ArrayBuffer(0)
  private used = SLOTS

  get (id: number): RawStat | undefined {
    return this.kept.get(id) ?? this.pinned.get(id)
  }

  /** Keeps node `id`'s stat, which the window has, until drop(id). */
  pin (id: number): void {
    const st = this.kept.get(id)
    if (st === undefined) return
    this.kept.delete(id)
    this.pinned.set(id, st)
  }

  /** Keeps a copy of `st` as node `id`'s; returns it. */
  keep (id: number, st: RawStat): RawStat {
    if (this.used === SLOTS) {
      this.chunk = new ArrayBuffer(SLOTS * SLOT_BYTES)
      this.used = 0
    }
    const v = new Float64Array(this.chunk, this.used++ * SLOT_BYTES, STAT_LEN)
    v.set(st)
    this.kept.delete(id)
    this.kept.set(id, v)
    if (this.kept.size > WINDOW) this.kept.delete(this.kept.keys().next().value as number)
    return v
  }

  drop (id: number): void {
    this.kept.delete(id)
    this.pinned.delete(id)
  }

  clear (): void {
    this.kept.clear()
    this.pinned.clear()
  }
}
