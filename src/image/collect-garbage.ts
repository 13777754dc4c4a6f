// Garbage collection of the store: blobs no indexed image needs (manifests,
// configs, layers) and layer dirs no image config names. Images that
// containers or build cache entries refer to count as needed. Callers hold the
// store lock. Returns the bytes reclaimed.
import { execFileSync } from 'node:child_process'
import type { Store } from '../store/store.js'
import { loadImage } from './resolve-image.js'

function duBytes (dir: string): number {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]) || 0
  } catch {
    return 0
  }
}

export function collectGarbage (store: Store): { bytes: number, blobs: number, layers: number } {
  const blobs = new Set<string>()
  const diffIDs = new Set<string>()
  for (const m of store.index.entries()) {
    const img = loadImage(store, m.digest)
    blobs.add(m.digest)
    blobs.add(img.configDigest)
    for (const l of img.manifest.layers) blobs.add(l.digest)
    for (const d of img.config.rootfs.diff_ids) diffIDs.add(d)
  }
  // Containers keep their image's layers even when it lost its names; the
  // build cache keeps the intermediate images of builds.
  for (const manifest of [...store.containers.list().map((c) => c.manifest), ...store.buildCache.manifests()]) {
    if (!store.blobs.has(manifest)) continue
    let img
    try { img = loadImage(store, manifest) } catch { continue } // a half-collected cache entry: a miss later
    blobs.add(manifest)
    blobs.add(img.configDigest)
    for (const l of img.manifest.layers) blobs.add(l.digest)
    for (const d of img.config.rootfs.diff_ids) diffIDs.add(d)
  }
  let bytes = 0
  let nBlobs = 0
  let nLayers = 0
  for (const b of store.blobs.list()) {
    if (blobs.has(b)) continue
    bytes += store.blobs.size(b)
    store.blobs.remove(b)
    nBlobs++
  }
  for (const d of store.layers.list()) {
    if (diffIDs.has(d)) continue
    bytes += duBytes(store.layers.path(d))
    store.layers.remove(d)
    nLayers++
  }
  return { bytes, blobs: nBlobs, layers: nLayers }
}

/**
 * Runs a change to the store under its lock; if it fails half-way, whatever
 * it had stored that no image uses is collected, so nothing half-made stays.
 */
export async function changeStore<T> (store: Store, fn: () => Promise<T>): Promise<T> {
  return store.locked(async () => {
    try {
      return await fn()
    } catch (err) {
      try { collectGarbage(store) } catch { /* report the first failure */ }
      throw err
    }
  })
}
