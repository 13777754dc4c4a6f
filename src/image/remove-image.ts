// `strata image rm`: untag; when the last name goes, the image goes too
// (and then whatever only it used), unless a container still uses it.
import type { Store } from '../store/store.js'
import { errnoError } from '../base/errno-error.js'
import { parseReference } from './reference.js'
import { resolveImage, loadImage, manifestDescriptor } from './resolve-image.js'
import { collectGarbage } from './collect-garbage.js'

export interface RemoveResult {
  untagged: string[]
  deleted: string | null
}

export function removeImage (store: Store, ref: string, force = false): RemoveResult {
  const img = resolveImage(store, ref)
  const byName = !ref.startsWith('sha256:') && !/^[0-9a-f]{4,64}$/.test(ref)
  const names = byName ? [parseReference(ref).name] : img.names
  if (!byName && img.names.length > 1 && !force) {
    throw errnoError('EBUSY', `image ${ref} has several names (${img.names.join(', ')}): remove them by name, or use -f`)
  }
  const last = names.length >= img.names.length
  const users = store.containers.list().filter((c) => c.manifest === img.manifestDigest)
  if (last && users.length && !force) {
    throw errnoError('EBUSY', `image ${ref} is used by container ${users.map((c) => c.name).join(', ')}: remove it first, or use -f`)
  }
  for (const n of names) store.index.untag(n)
  if (!last) return { untagged: names, deleted: null }
  // As docker's rmi -f: an image a container uses loses its names and stays, listed as <none>.
  if (users.length) {
    store.index.addDangling(manifestDescriptor(store, img))
    return { untagged: names, deleted: null }
  }
  store.index.drop(img.manifestDigest)
  collectGarbage(store)
  return { untagged: names, deleted: img.configDigest }
}

export interface PrunedImage { id: string, untagged: string[] }

/**
 * Removes dangling images (no name, no container) — with `all`, every image
 * no container uses — the build cache (the only way to reclaim what
 * intermediate images hold) and everything unused. Returns each image's ID
 * (its config digest, as docker prints it) and the names it lost.
 */
export function pruneImages (store: Store, opts: { all?: boolean } = {}): { images: PrunedImage[], bytes: number } {
  store.buildCache.clear()
  const used = new Set(store.containers.list().map((c) => c.manifest))
  const byManifest = new Map<string, string[]>()
  for (const m of store.index.entries()) {
    const name = m.annotations?.['org.opencontainers.image.ref.name']
    byManifest.set(m.digest, [...(byManifest.get(m.digest) ?? []), ...(name ? [name] : [])])
  }
  const images: PrunedImage[] = []
  for (const [digest, names] of byManifest) {
    if ((names.length && !opts.all) || used.has(digest)) continue
    const id = loadImage(store, digest).configDigest
    store.index.drop(digest)
    images.push({ id, untagged: names })
  }
  const { bytes } = collectGarbage(store)
  return { images, bytes }
}
