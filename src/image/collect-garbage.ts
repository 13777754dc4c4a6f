// Garbage collection of the store: blobs no image needs (manifests,
// configs, layers), layer dirs and lazy layer dirs no image config names. The roots are the
// indexed images, and the images containers or build cache entries refer to.
// Callers hold the store lock. Each removal is atomic on its own (a blob is
// unlinked, a layer dir loses its mark and is renamed out before deletion),
// so a GC killed half-way leaves only more garbage, which the next GC or
// `system check --repair` collects.
import { execFileSync } from 'node:child_process'
import type { Store } from '../store/store.js'
import { killPoint } from '../base/kill-point.js'
import type { ImageConfig, Manifest } from '../oci/oci-types.js'
import { dropKept, lazyDir, listLazy, removeLazy } from '../store/lazy-layers.js'

function duBytes (dir: string): number {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]) || 0
  } catch {
    return 0
  }
}

export interface Reachable { blobs: Set<string>, diffIDs: Set<string> }

/**
 * What the roots reach. Tolerant of damage (a missing or unreadable manifest
 * or config reaches what can still be read): it decides what is garbage, and
 * must not throw over the very damage a repair is cleaning.
 */
export function reachable (store: Store): Reachable {
  const blobs = new Set<string>()
  const diffIDs = new Set<string>()
  const roots = new Set<string>()
  try {
    for (const m of store.index.entries()) roots.add(m.digest)
  } catch { /* a corrupt index: check rebuilds it first */ }
  // Containers keep their image's layers even when it lost its names; the
  // build cache keeps the intermediate images of builds.
  for (const c of store.containers.list()) roots.add(c.manifest)
  for (const m of store.buildCache.manifests()) roots.add(m)
  for (const digest of roots) {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest) || !store.blobs.has(digest)) continue
    blobs.add(digest)
    let m: Manifest
    try { m = store.blobs.readJson<Manifest>(digest) } catch { continue }
    if (typeof m.config?.digest === 'string') blobs.add(m.config.digest)
    for (const l of Array.isArray(m.layers) ? m.layers : []) if (typeof l?.digest === 'string') blobs.add(l.digest)
    let cfg: ImageConfig
    try { cfg = store.blobs.readJson<ImageConfig>(m.config.digest) } catch { continue }
    for (const d of cfg.rootfs?.diff_ids ?? []) diffIDs.add(d)
  }
  return { blobs, diffIDs }
}

export function collectGarbage (store: Store): { bytes: number, blobs: number, layers: number } {
  const keep = reachable(store)
  let bytes = 0
  let nBlobs = 0
  let nLayers = 0
  for (const b of store.blobs.list()) {
    if (keep.blobs.has(b)) continue
    bytes += store.blobs.size(b)
    store.blobs.remove(b)
    nBlobs++
    killPoint('gc-blob')
  }
  for (const d of [...store.layers.list(), ...store.layers.incomplete()]) {
    if (keep.diffIDs.has(d) && store.layers.has(d)) continue
    if (!keep.diffIDs.has(d)) {
      bytes += duBytes(store.layers.path(d))
      nLayers++
    }
    // An incomplete dir is never reused: away with it, needed or not.
    store.layers.remove(d)
    killPoint('gc-layer')
  }
  for (const d of listLazy(store.root)) {
    // Filled: the blob holds what the kept bytes did (a mount may still serve the skeleton, which stays).
    if (keep.diffIDs.has(d) && store.layers.has(d)) dropKept(lazyDir(store.root, d))
    if (keep.diffIDs.has(d)) continue
    bytes += duBytes(lazyDir(store.root, d))
    removeLazy(store.root, d)
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
