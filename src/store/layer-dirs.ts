// Extracted layers, one directory per DiffID (layers/<hex>), in kernel
// overlayfs format, shared by every image that has the layer.
//
// Invariant: a layer counts only when complete and verified. It is filled
// under a temp name (.tmp-<pid>-…), renamed to <hex>, and then <hex>.size —
// the size of the layer's tar, which a registry manifest does not carry — is
// written last, as the completion mark. A <hex> dir without its mark (a crash
// between the rename and the mark, or a dir of an older strata) is never
// reused: install replaces it and `system check` reports it. Removal takes
// the mark first, then renames the dir out of its name before deleting it,
// so no reader ever finds a half-removed layer under <hex>.
// layers/.empty is the one lower dir of an image with no layers (FROM
// scratch): a mount needs a lower, and it is never listed or collected.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'
import { fsyncDir, writeFileAtomic } from '../base/atomic-file.js'
import { killPoint } from '../base/kill-point.js'
import { ownedPrefix, removeDoomed, removeStaleTemp, staleTemp } from './stale-temp.js'
import { checkDigest } from './blob-store.js'

const HEX = /^[0-9a-f]{64}$/

export class LayerDirs {
  readonly dir: string

  /** With `sweep` (the default), temp dirs of dead commands and stray marks are removed. */
  constructor (root: string, sweep = true) {
    this.dir = path.join(root, 'layers')
    fs.mkdirSync(this.dir, { recursive: true })
    if (!sweep) return
    removeStaleTemp(this.dir, (n) => n.startsWith('.') && n !== '.empty')
    for (const n of this.strayMarks()) fs.rmSync(path.join(this.dir, n), { force: true })
  }

  path (diffID: string): string {
    return path.join(this.dir, checkDigest(diffID).slice(7))
  }

  /** Whether the layer is there and complete. */
  has (diffID: string): boolean {
    return this.tarSize(diffID) !== null && fs.existsSync(this.path(diffID))
  }

  /**
   * Creates the layer dir with `fill(tmpDir)` unless it exists complete
   * already; the tar's size is `tarSize`, or what `fill` returns. `fill`
   * must verify the content against `diffID`.
   */
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a fill may return its byte count, or nothing
  async install (diffID: string, fill: (dir: string) => Promise<void | number>, tarSize?: number): Promise<string> {
    const dest = this.path(diffID)
    if (this.has(diffID)) return dest
    // An incomplete dir of an earlier crash: never reused.
    removeDoomed(this.dir, path.basename(dest))
    const tmp = fs.mkdtempSync(ownedPrefix(this.dir, '.tmp-'))
    // A layer without a root entry gets the usual root mode, not mkdtemp's.
    fs.chmodSync(tmp, 0o755)
    try {
      const filled = await fill(tmp)
      if (typeof filled === 'number') tarSize = filled
      if (tarSize === undefined) throw errnoError('EINVAL', `layer ${diffID}: installed without its tar size`)
      killPoint('layer-filled')
      fs.renameSync(tmp, dest)
      fsyncDir(this.dir)
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
    killPoint('layer-renamed')
    writeFileAtomic(dest + '.size', String(tarSize))
    return dest
  }

  /** An empty read-only lower dir, made on first use (mode 0755, root's). */
  empty (): string {
    const p = path.join(this.dir, '.empty')
    if (!fs.existsSync(p)) {
      const tmp = fs.mkdtempSync(ownedPrefix(this.dir, '.tmp-'))
      fs.chmodSync(tmp, 0o755)
      try { fs.renameSync(tmp, p) } catch { fs.rmSync(tmp, { recursive: true, force: true }) }
    }
    return p
  }

  /** The dir of a layer that must be there, complete (for a mount). */
  require (diffID: string): string {
    const p = this.path(diffID)
    if (!fs.existsSync(p)) throw errnoError('ENOENT', `layer ${diffID} is missing from the store (${p}); strata system check --repair re-extracts it`)
    if (!this.has(diffID)) throw errnoError('EUCLEAN', `layer ${diffID} is incomplete (${p} has no completion mark); strata system check --repair re-extracts it`)
    return p
  }

  /** The size of the layer's uncompressed tar; null when the layer is not complete. */
  tarSize (diffID: string): number | null {
    try {
      const n = Number(fs.readFileSync(this.path(diffID) + '.size', 'utf8'))
      return Number.isSafeInteger(n) && n >= 0 ? n : null
    } catch {
      return null
    }
  }

  /** Complete layers. */
  list (): string[] {
    return this.names().filter((n) => HEX.test(n)).map((n) => 'sha256:' + n).filter((d) => this.has(d))
  }

  /** Layer dirs without (a valid) completion mark. */
  incomplete (): string[] {
    return this.names().filter((n) => HEX.test(n)).map((n) => 'sha256:' + n).filter((d) => !this.has(d))
  }

  /** Marks whose dir is gone (a crash during removal). */
  strayMarks (): string[] {
    const names = this.names()
    const have = new Set(names)
    return names.filter((n) => n.endsWith('.size') && HEX.test(n.slice(0, -5)) && !have.has(n.slice(0, -5)))
  }

  /** Temp dirs of commands that died. */
  staleTemp (): string[] {
    return staleTemp(this.dir, (n) => n.startsWith('.') && n !== '.empty')
  }

  private names (): string[] {
    return fs.readdirSync(this.dir)
  }

  /** Removes a layer (complete or not); never seen half-removed under its name. */
  remove (diffID: string): void {
    const p = this.path(diffID)
    fs.rmSync(p + '.size', { force: true })
    fsyncDir(this.dir)
    killPoint('layer-unmarked')
    removeDoomed(this.dir, path.basename(p))
  }
}
