// The directories a mount of a container or an image from the store is made
// of: the image's extracted layers (top first) and, for a container, its
// upper and work dirs. An image with no layers (FROM scratch) gets the
// store's empty dir as its one lower.
import type { Store } from '../store/store.js'
import { resolveImage, loadImage } from './resolve-image.js'
import { lazyTree } from '../store/lazy-layers.js'

export interface StoreLayers {
  lowerdir: string
  upperdir?: string
  workdir?: string
}

export function storeLayers (store: Store, what: string): StoreLayers {
  const c = store.containers.find(what)
  const img = c ? loadImage(store, c.manifest) : resolveImage(store, what)
  const ids = [...img.config.rootfs.diff_ids].reverse()
  // A lazily pulled layer is mounted from its skeleton until the whole layer is in.
  const dirOf = (id: string): string => store.layers.has(id) ? store.layers.path(id) : lazyTree(store.root, id) ?? store.layers.require(id)
  const lowerdir = ids.length ? ids.map(dirOf).join(':') : store.layers.empty()
  if (!c) return { lowerdir }
  return { lowerdir, upperdir: store.containers.upper(c), workdir: store.containers.work(c) }
}
