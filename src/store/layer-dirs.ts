// Extracted layers, one directory per DiffID (layers/<hex>), in kernel
// overlayfs format, shared by every image that has the layer. A layer dir
// appears only complete: it is filled under a temp name and renamed. Beside
// it, <hex>.size holds the size of the layer's tar, which a manifest from a
// registry does not carry (docker shows and archives uncompressed sizes).
// layers/.empty is the one lower dir of an image with no layers (FROM
// scratch): a mount needs a lower, and it is never listed or collected.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'
import { fsyncDir, writeFileAtomic } from '../base/atomic-file.js'
import { ownedPrefix, removeStaleTemp } from './stale-temp.js'
import { checkDigest } from './blob-store.js'

export class LayerDirs {
  readonly dir: string

  constructor (root: string) {
    this.dir = path.join(root, 'layers')
    fs.mkdirSync(this.dir, { recursive: true })
    // Half-extracted layers of a command that died, and sizes of layers gone.
    removeStaleTemp(this.dir, (n) => n.startsWith('.tmp-'))
    const names = fs.readdirSync(this.dir)
    const have = new Set(names)
    for (const n of names) if (n.endsWith('.size') && !have.has(n.slice(0, -5))) fs.rmSync(path.join(this.dir, n), { force: true })
  }

  path (diffID: string): string {
    return path.join(this.dir, checkDigest(diffID).slice(7))
  }

  has (diffID: string): boolean {
    return fs.existsSync(this.path(diffID))
  }

  /**
   * Creates the layer dir with `fill(tmpDir)` unless it exists already; the
   * tar's size is `tarSize`, or what `fill` returns.
   */
  async install (diffID: string, fill: (dir: string) => Promise<void | number>, tarSize?: number): Promise<string> {
    const dest = this.path(diffID)
    // Written once the dir is complete, so a size never outlives a failed install.
    const noteSize = (): void => { if (tarSize !== undefined && this.tarSize(diffID) === null) writeFileAtomic(dest + '.size', String(tarSize)) }
    if (fs.existsSync(dest)) { noteSize(); return dest }
    const tmp = fs.mkdtempSync(ownedPrefix(this.dir, '.tmp-'))
    // A layer without a root entry gets the usual root mode, not mkdtemp's.
    fs.chmodSync(tmp, 0o755)
    try {
      const filled = await fill(tmp)
      if (typeof filled === 'number') tarSize = filled
      fs.renameSync(tmp, dest)
      fsyncDir(this.dir)
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
    noteSize()
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

  /** The dir of a layer that must be there (for a mount). */
  require (diffID: string): string {
    const p = this.path(diffID)
    if (!fs.existsSync(p)) throw errnoError('ENOENT', `layer ${diffID} is missing from the store (${p}); strata system check --repair re-extracts it`)
    return p
  }

  /** The size of the layer's uncompressed tar, when known. */
  tarSize (diffID: string): number | null {
    try {
      const n = Number(fs.readFileSync(this.path(diffID) + '.size', 'utf8'))
      return Number.isSafeInteger(n) && n >= 0 ? n : null
    } catch {
      return null
    }
  }

  list (): string[] {
    return fs.readdirSync(this.dir).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => 'sha256:' + n)
  }

  remove (diffID: string): void {
    fs.rmSync(this.path(diffID), { recursive: true, force: true })
    fs.rmSync(this.path(diffID) + '.size', { force: true })
  }
}
