// The registry side of a lazy layer: fetches a file's chunks by Range from
// the gzip member each starts, gunzips it alone, and verifies it against the
// TOC's chunkDigest before handing it over — a chunk that fails is fetched
// once more, then refused, and never written anywhere. Also: the layer
// source the mount daemon uses for each lower dir (a LazyLayer for a lazy
// skeleton, a DirLayer otherwise), which keeps each verified chunk's bytes
// for the fill and starts the background fill (lazy-fill.ts) that makes the
// layer an ordinary one, which later mounts use instead.
import path from 'node:path'
import zlib from 'node:zlib'
import crypto from 'node:crypto'
import { errnoError } from '../base/errno-error.js'
import { cleanTocName, type Toc } from '../oci/estargz.js'
import { keepFetched, readLazyLayer, type LazySource } from '../store/lazy-layers.js'
import { DirLayer } from '../union/dir-layer.js'
import { LazyLayer, type LazyFiller } from '../union/lazy-layer.js'
import type { LayerSource } from '../union/layer-source.js'
import { RegistryClient } from './registry-client.js'
import { loadCredentials } from './credentials.js'
import { readRange } from './range-read.js'
import { eachLimited } from './each-limited.js'
import { fillLayer } from './lazy-fill.js'

/** A chunk bigger than this is refused: it would be held in memory whole. */
const MAX_CHUNK = 64 << 20

interface Chunk {
  /** Where its gzip member starts, and where the next data begins (its end). */
  offset: number
  end: number
  chunkOffset: number
  size: number
  digest: string
}

export class RegistryFiller implements LazyFiller {
  private readonly chunks = new Map<string, Chunk[]>()
  private readonly client: RegistryClient

  /** `keep` is given each chunk's blob bytes once they passed its digest. */
  constructor (private readonly source: LazySource, private readonly toc: Toc, private readonly keep?: (offset: number, member: Buffer) => void) {
    this.client = new RegistryClient(source.host, { insecure: source.insecure, credentials: loadCredentials(source.host) })
    const offsets = [...new Set(toc.entries.map((e) => e.offset ?? 0).filter((o) => o > 0)), source.tocOffset].sort((a, b) => a - b)
    const endOf = (off: number): number => {
      // The first data offset after this one (binary search).
      let lo = 0
      let hi = offsets.length - 1
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (offsets[mid] > off) hi = mid
        else lo = mid + 1
      }
      return offsets[lo]
    }
    // A file's "chunk" entries follow its "reg" entry; a chunk size of 0
    // (or none) means up to the end of the file.
    let fileSize = 0
    for (const e of toc.entries) {
      const name = cleanTocName(e.name)
      if (e.type === 'reg') {
        fileSize = e.size ?? 0
        this.chunks.set(name, [])
      } else if (e.type !== 'chunk') {
        continue
      }
      const list = this.chunks.get(name)
      if (!list || !e.offset) continue
      const chunkOffset = e.chunkOffset ?? 0
      // An old writer's single-chunk file has only the file digest.
      const digest = e.chunkDigest ?? (chunkOffset === 0 && !e.chunkSize ? e.digest ?? '' : '')
      list.push({ offset: e.offset, end: endOf(e.offset), chunkOffset, size: e.chunkSize || fileSize - chunkOffset, digest })
    }
  }

  prefetch (): string[] {
    const i = this.toc.entries.findIndex((e) => cleanTocName(e.name) === '.prefetch.landmark')
    return i < 0 ? [] : this.toc.entries.slice(0, i).filter((e) => e.type === 'reg' && e.size).map((e) => cleanTocName(e.name))
  }

  async fill (key: string, write: (data: Buffer, position: number) => void): Promise<void> {
    const list = this.chunks.get(key)
    if (!list) throw errnoError('ENOENT', `${key} is not in the TOC`)
    await eachLimited(list, 4, async (c) => { write(await this.chunk(key, c), c.chunkOffset) })
  }

  private async chunk (key: string, c: Chunk): Promise<Buffer> {
    const what = `${key} at ${c.chunkOffset}`
    if (!/^sha256:[0-9a-f]{64}$/.test(c.digest)) throw errnoError('EBADMSG', `${what}: the TOC has no chunk digest to verify it by`)
    if (c.size > MAX_CHUNK || c.end - c.offset > MAX_CHUNK * 2 || c.end <= c.offset) throw errnoError('EFBIG', `${what}: a chunk of ${c.size} bytes in ${c.end - c.offset}`)
    let why = ''
    for (let attempt = 1; attempt <= 2; attempt++) {
      const member = await readRange(this.client, this.source.repository, this.source.digest, c.offset, c.end)
      let data: Buffer
      // The member holds the chunk, then maybe the headers of entries with no data.
      try {
        data = zlib.gunzipSync(member, { maxOutputLength: c.size + (64 << 20) })
      } catch (err) {
        why = `not valid gzip (${(err as Error).message})`
        continue
      }
      if (data.length < c.size) { why = `${data.length} bytes, not ${c.size}`; continue }
      const out = data.subarray(0, c.size)
      const got = 'sha256:' + crypto.createHash('sha256').update(out).digest('hex')
      if (got === c.digest) {
        this.keep?.(c.offset, member)
        return out
      }
      why = `digest ${got}, not ${c.digest}`
    }
    throw errnoError('EBADMSG', `${what}: refused, the chunk fetched is ${why}`)
  }
}

/**
 * The layer source for a lower dir of a mount. For a lazy skeleton: a
 * LazyLayer, its prioritized files prefetched at once, and (unless
 * STRATA_LAZY_FILL=0) the background fill started after
 * STRATA_LAZY_FILL_DELAY_MS (default 1000), once the container's first
 * reads had the network to themselves.
 */
export function openLayerSource (dir: string): LayerSource {
  const lazy = readLazyLayer(dir)
  if (!lazy) return new DirLayer(dir)
  const filler = new RegistryFiller(lazy.source, lazy.toc, (offset, member) => { keepFetched(path.dirname(dir), offset, member) })
  const layer = new LazyLayer(dir, filler)
  const first = filler.prefetch()
  if (first.length) void layer.prefetchPaths(first)
  if (process.env.STRATA_LAZY_FILL !== '0') {
    const delay = Number(process.env.STRATA_LAZY_FILL_DELAY_MS ?? 1000)
    setTimeout(() => {
      fillLayer(lazy.storeRoot, lazy.source).then(
        () => process.stderr.write(`strata: layer ${lazy.source.diffID} is complete; later mounts use it whole\n`),
        (err: unknown) => process.stderr.write(`strata: background fill of layer ${lazy.source.diffID} failed: ${(err as Error).message}\n`))
    }, delay).unref()
  }
  return layer
}
