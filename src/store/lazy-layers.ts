// Lazily pulled layers, one directory per DiffID (lazy/<hex>): `tree`, the
// skeleton a LazyLayer serves (content fetched on first open), `source.json`
// (where the blob lives and where its TOC starts) and `toc.json` (the
// verified table of contents). A lazy dir appears only complete: it is made
// under a temp name and renamed. It is used only while layers/<hex> (the
// ordinary extracted layer, which the background fill makes) is missing.
import fs from 'node:fs'
import path from 'node:path'
import { fsyncDir } from '../base/atomic-file.js'
import { ownedPrefix, removeStaleTemp } from './stale-temp.js'
import { checkDigest } from './blob-store.js'
import type { Toc } from '../oci/estargz.js'

/** Where a lazy layer's blob is, for whoever serves it. */
export interface LazySource {
  host: string
  repository: string
  /** The blob's digest and size, from the verified manifest. */
  digest: string
  size: number
  diffID: string
  /** Where the TOC's gzip member starts (the chunks end there). */
  tocOffset: number
  insecure?: boolean
}

export const lazyRoot = (storeRoot: string): string => path.join(storeRoot, 'lazy')

export function lazyDir (storeRoot: string, diffID: string): string {
  return path.join(lazyRoot(storeRoot), checkDigest(diffID).slice(7))
}

/** The skeleton tree of a lazily pulled layer, or null when there is none. */
export function lazyTree (storeRoot: string, diffID: string): string | null {
  const t = path.join(lazyDir(storeRoot, diffID), 'tree')
  return fs.existsSync(t) ? t : null
}

/** Is this lower dir a lazy layer's skeleton? */
export function isLazyTree (dir: string): boolean {
  return path.basename(dir) === 'tree' && path.basename(path.dirname(path.dirname(dir))) === 'lazy' && fs.existsSync(path.join(path.dirname(dir), 'source.json'))
}

/** If `tree` is a lazy layer's skeleton: its source and TOC. */
export function readLazyLayer (tree: string): { source: LazySource, toc: Toc, storeRoot: string } | null {
  const dir = path.dirname(tree)
  if (!isLazyTree(tree)) return null
  let source: LazySource
  try {
    source = JSON.parse(fs.readFileSync(path.join(dir, 'source.json'), 'utf8')) as LazySource
  } catch {
    return null
  }
  const toc = JSON.parse(fs.readFileSync(path.join(dir, 'toc.json'), 'utf8')) as Toc
  return { source, toc, storeRoot: path.dirname(path.dirname(dir)) }
}

/**
 * Makes lazy/<hex> with `fill(tmpDir)` (which makes tmpDir/tree) unless it
 * exists; then writes source and TOC. Callers hold the store lock.
 */
export async function installLazyLayer (storeRoot: string, source: LazySource, tocJson: Buffer, fill: (tree: string) => Promise<void>): Promise<string> {
  const dest = lazyDir(storeRoot, source.diffID)
  if (fs.existsSync(dest)) return dest
  const root = lazyRoot(storeRoot)
  fs.mkdirSync(root, { recursive: true, mode: 0o700 })
  removeStaleTemp(root, (n) => n.startsWith('.tmp-'))
  const tmp = fs.mkdtempSync(ownedPrefix(root, '.tmp-'))
  try {
    const tree = path.join(tmp, 'tree')
    fs.mkdirSync(tree, { mode: 0o755 })
    await fill(tree)
    fs.writeFileSync(path.join(tmp, 'toc.json'), tocJson)
    fs.writeFileSync(path.join(tmp, 'source.json'), JSON.stringify(source))
    fs.renameSync(tmp, dest)
    fsyncDir(root)
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true })
    if ((err as { code?: string }).code === 'ENOTEMPTY' || (err as { code?: string }).code === 'EEXIST') return dest
    throw err
  }
  return dest
}
