// Lazily pulled layers, one directory per DiffID (lazy/<hex>): `tree`, the
// skeleton a LazyLayer serves (content fetched on first open), `source.json`
// (where the blob lives and where its TOC starts) and `toc.json` (the
// verified table of contents). A lazy dir appears only complete: it is made
// under a temp name and renamed. It is used only while layers/<hex> (the
// ordinary extracted layer, which the background fill makes) is missing.
//
// Until the layer is filled, `blob.partial` (a sparse file of the blob's
// size) keeps the blob bytes fetched so far at their offsets, and `fetched`
// lists them, one "start end" line appended after each write, so that the
// fill downloads only the rest. Best effort and never trusted: bytes are
// written there only after they passed their chunk digest, and the blob
// assembled from them is verified against its digest before use (so no
// fsync is paid on the read path: a crash can lose a range, or leave one
// the final digest check refuses). Several daemons may keep bytes at once:
// they write the same bytes of one blob.
import fs from 'node:fs'
import path from 'node:path'
import { fsyncDir } from '../base/atomic-file.js'
import { ownedPrefix, removeDoomed, removeStaleTemp, staleTemp } from './stale-temp.js'
import { checkDigest } from './blob-store.js'
import type { Toc } from '../oci/estargz.js'
import { LAZY_TREE_NAME } from './lazy-tree-name.js'

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
const PARTIAL = 'blob.partial'
const FETCHED = 'fetched'

export function lazyDir (storeRoot: string, diffID: string): string {
  return path.join(lazyRoot(storeRoot), checkDigest(diffID).slice(7))
}

/** The skeleton tree of a lazily pulled layer, or null when there is none. */
export function lazyTree (storeRoot: string, diffID: string): string | null {
  const t = path.join(lazyDir(storeRoot, diffID), LAZY_TREE_NAME)
  return fs.existsSync(t) ? t : null
}

/** Is this lower dir a lazy layer's skeleton? */
export function isLazyTree (dir: string): boolean {
  return path.basename(dir) === LAZY_TREE_NAME && path.basename(path.dirname(path.dirname(dir))) === 'lazy' && fs.existsSync(path.join(path.dirname(dir), 'source.json'))
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
export async function installLazyLayer (storeRoot: string, source: LazySource, tocJson: Buffer, fill: (tree: string) => Promise<void>, known: Array<{ offset: number, data: Buffer }> = []): Promise<string> {
  const dest = lazyDir(storeRoot, source.diffID)
  if (fs.existsSync(dest)) return dest
  const root = lazyRoot(storeRoot)
  fs.mkdirSync(root, { recursive: true, mode: 0o700 })
  removeStaleTemp(root, (n) => n.startsWith('.tmp-'))
  const tmp = fs.mkdtempSync(ownedPrefix(root, '.tmp-'))
  try {
    const tree = path.join(tmp, LAZY_TREE_NAME)
    fs.mkdirSync(tree, { mode: 0o755 })
    await fill(tree)
    fs.writeFileSync(path.join(tmp, 'toc.json'), tocJson)
    fs.writeFileSync(path.join(tmp, 'source.json'), JSON.stringify(source))
    fs.closeSync(fs.openSync(path.join(tmp, PARTIAL), 'w', 0o600))
    fs.truncateSync(path.join(tmp, PARTIAL), source.size)
    for (const k of known) keepFetched(tmp, k.offset, k.data)
    fs.renameSync(tmp, dest)
    fsyncDir(root)
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true })
    if ((err as { code?: string }).code === 'ENOTEMPTY' || (err as { code?: string }).code === 'EEXIST') return dest
    throw err
  }
  return dest
}

/**
 * Keeps verified bytes of a lazy layer's blob for the fill (see the top of
 * the file). Best effort: a failure costs only their reuse; once the layer
 * is filled (blob.partial gone) it does nothing.
 */
export function keepFetched (dir: string, offset: number, data: Buffer): void {
  let fd: number
  try {
    fd = fs.openSync(path.join(dir, PARTIAL), fs.constants.O_WRONLY)
  } catch {
    return
  }
  try {
    for (let off = 0; off < data.length;) off += fs.writeSync(fd, data, off, data.length - off, offset + off)
    // One short O_APPEND write: lines of daemons writing at once do not mix.
    fs.appendFileSync(path.join(dir, FETCHED), `${offset} ${offset + data.length}\n`)
  } catch { /* ENOSPC and the like: the fill fetches these bytes again */ } finally {
    fs.closeSync(fd)
  }
}

/** The kept ranges [start, end) within `size`, sorted and merged; lines that do not parse (a torn write) are skipped. */
export function keptRanges (dir: string, size: number): Array<[number, number]> {
  let text = ''
  try { text = fs.readFileSync(path.join(dir, FETCHED), 'latin1') } catch { return [] }
  if (!fs.existsSync(path.join(dir, PARTIAL))) return []
  const ranges: Array<[number, number]> = []
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line)
    if (!m) continue
    const [a, b] = [Number(m[1]), Number(m[2])]
    if (Number.isSafeInteger(b) && a < b && b <= size) ranges.push([a, b])
  }
  ranges.sort((x, y) => x[0] - y[0])
  const out: Array<[number, number]> = []
  for (const r of ranges) {
    const last = out.at(-1)
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1])
    else out.push([r[0], r[1]])
  }
  return out
}

export const partialBlobPath = (dir: string): string => path.join(dir, PARTIAL)

/** Drops the kept bytes (the layer is filled, or they failed the blob's digest). */
export function dropKept (dir: string): void {
  fs.rmSync(path.join(dir, PARTIAL), { force: true })
  fs.rmSync(path.join(dir, FETCHED), { force: true })
}

/** The DiffIDs that have a lazy dir. */
export function listLazy (storeRoot: string): string[] {
  let names: string[]
  try { names = fs.readdirSync(lazyRoot(storeRoot)) } catch { return [] }
  return names.filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`)
}

/** Removes a lazy dir, never seen half-removed under its name (see removeDoomed). Callers hold the store lock. */
export function removeLazy (storeRoot: string, diffID: string): void {
  removeDoomed(lazyRoot(storeRoot), checkDigest(diffID).slice(7))
}

/** Temp names in lazy/ of commands that died (an install cut short). */
export function staleLazyTemp (storeRoot: string): string[] {
  return staleTemp(lazyRoot(storeRoot), (n) => n.startsWith('.tmp-') || n.startsWith('.doomed-'))
}

/** How many of the blob's bytes a lazy layer holds so far. */
export function keptBytes (storeRoot: string, diffID: string, size: number): number {
  return keptRanges(lazyDir(storeRoot, diffID), size).reduce((n, [a, b]) => n + b - a, 0)
}
