// Completing a lazily pulled layer: the whole blob, assembled from the
// bytes already fetched on demand (store/lazy-layers.ts keeps them) plus
// Range requests for the rest, verified against the blob's digest, then
// installed as an ordinary layer (layers/<hex>, verified against its
// DiffID) with its blob in the store — from then on it is an ordinary
// layer, which later mounts, save and push use. Kept bytes that fail the
// digest are dropped and the blob is downloaded whole (the digest decides,
// never the kept bytes). The background fill of a mount and save/push of a
// lazily pulled image (completeLazyImage) both come here.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { errnoError } from '../base/errno-error.js'
import { killPoint } from '../base/kill-point.js'
import { MT } from '../oci/oci-types.js'
import { dropKept, keptRanges, lazyDir, partialBlobPath, type LazySource } from '../store/lazy-layers.js'
import { ownedPrefix } from '../store/stale-temp.js'
import { Store } from '../store/store.js'
import { installLayerFromBlob } from '../image/add-layer.js'
import type { Image } from '../image/resolve-image.js'
import { RegistryClient } from './registry-client.js'
import { loadCredentials } from './credentials.js'
import { readRange } from './range-read.js'
import { downloadBlob } from './blob-download.js'
import { eachLimited } from './each-limited.js'

/** The most one Range request of the fill asks for (and holds in memory). */
const PIECE = 4 << 20

export interface FillOptions {
  /** Blob bytes received from the registry. */
  onBytes?: (n: number) => void
}

function writeAll (fd: number, data: Buffer, position: number): void {
  for (let off = 0; off < data.length;) off += fs.writeSync(fd, data, off, data.length - off, position + off)
}

/** [start, end) pieces of at most PIECE bytes covering what `kept` does not. */
export function missingPieces (kept: Array<[number, number]>, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  let at = 0
  for (const [a, b] of [...kept, [size, size] as [number, number]]) {
    for (let s = at; s < a; s += PIECE) out.push([s, Math.min(a, s + PIECE)])
    at = Math.max(at, b)
  }
  return out
}

/** Writes the blob to `file` from the kept bytes and Range requests for the rest; true when it has the blob's digest. */
async function assemble (client: RegistryClient, source: LazySource, dir: string, file: string, o: FillOptions): Promise<boolean> {
  const kept = keptRanges(dir, source.size)
  const fd = fs.openSync(file, 'w', 0o600)
  try {
    fs.ftruncateSync(fd, source.size)
    if (kept.length) {
      const src = fs.openSync(partialBlobPath(dir), 'r')
      try {
        const buf = Buffer.allocUnsafe(PIECE)
        for (const [a, b] of kept) {
          for (let s = a; s < b; s += PIECE) {
            const n = fs.readSync(src, buf, 0, Math.min(PIECE, b - s), s)
            writeAll(fd, buf.subarray(0, n), s)
          }
        }
      } finally {
        fs.closeSync(src)
      }
    }
    await eachLimited(missingPieces(kept, source.size), 4, async ([a, b]) => {
      writeAll(fd, await readRange(client, source.repository, source.digest, a, b, { onBytes: o.onBytes }), a)
    })
  } finally {
    fs.closeSync(fd)
  }
  const hash = crypto.createHash('sha256')
  await pipeline(fs.createReadStream(file), hash)
  return 'sha256:' + hash.digest('hex') === source.digest
}

/** Makes the lazy layer of `source` an ordinary one: layers/<hex> and its blob in the store. Idempotent. */
export async function fillLayer (storeRoot: string, source: LazySource, o: FillOptions = {}): Promise<void> {
  const store = new Store(storeRoot)
  const dir = lazyDir(storeRoot, source.diffID)
  if (store.layers.has(source.diffID) && store.blobs.has(source.digest)) {
    dropKept(dir) // a fill cut short after it installed the layer
    return
  }
  const client = new RegistryClient(source.host, { insecure: source.insecure, credentials: loadCredentials(source.host) })
  const staging = fs.mkdtempSync(ownedPrefix(store.tmp, 'fill-'))
  try {
    const blob = path.join(staging, 'blob')
    if (!store.blobs.has(source.digest) && !await assemble(client, source, dir, blob, o)) {
      process.stderr.write(`strata: layer ${source.diffID}: the bytes kept from lazy reads do not make its blob ${source.digest}; downloading it whole\n`)
      dropKept(dir)
      const onBytes = o.onBytes && ((): ((done: number) => void) => { let last = 0; return (done) => { o.onBytes!(done - last); last = done } })()
      await downloadBlob(client, source.repository, { mediaType: MT.ociLayerGzip, digest: source.digest, size: source.size }, blob, { onBytes })
    }
    killPoint('fill-assembled')
    await store.locked(async () => {
      if (!store.blobs.has(source.digest)) store.blobs.adopt(blob, source.digest)
      killPoint('fill-adopted')
      if (!store.layers.has(source.diffID)) await installLayerFromBlob(store, source.diffID, store.blobs.path(source.digest), `layer ${source.digest} of ${source.host}/${source.repository}`)
      killPoint('fill-installed')
      dropKept(dir)
    })
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

/**
 * Completes every layer of `image` that is still lazy (its blob or layer
 * dir not in the store), so that save and push write whole, verified blobs. A layer that
 * cannot be fetched fails with its digest and registry named.
 */
export async function completeLazyImage (store: Store, image: Image, o: FillOptions = {}): Promise<void> {
  for (let i = 0; i < image.manifest.layers.length; i++) {
    const desc = image.manifest.layers[i]
    const diffID = image.config.rootfs.diff_ids[i]
    // A blob in the store is enough to save or push; the layer dir too makes the layer ordinary (a fill cut short).
    if (store.blobs.has(desc.digest) && store.layers.has(diffID)) {
      dropKept(lazyDir(store.root, diffID)) // left by a fill cut short after it installed the layer
      continue
    }
    let source: LazySource
    try {
      source = JSON.parse(fs.readFileSync(path.join(lazyDir(store.root, diffID), 'source.json'), 'utf8')) as LazySource
    } catch {
      continue // not lazy: the caller reports the missing blob as it does
    }
    try {
      await fillLayer(store.root, source, o)
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'EIO'
      throw errnoError(/^E[A-Z]+$/.test(code) ? code : 'EIO', `layer ${desc.digest} of ${image.names[0] ?? image.manifestDigest} was pulled lazily and cannot be completed from ${source.host}/${source.repository}: ${(err as Error).message}`)
    }
  }
}
