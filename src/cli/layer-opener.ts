// Which LayerSource serves each lower dir of a mount: a lazily pulled
// layer's skeleton tree needs the registry client (loaded only then, so an
// ordinary mount pays nothing for it); every other dir is a DirLayer. Lives
// in cli/ because only an entry point may reach from fuse/ up to registry/.
import path from 'node:path'
import type { MountRequest } from '../fuse/mount-options.js'
import type { ServeOptions } from '../fuse/serve.js'

export async function layerOpener (req: MountRequest): Promise<ServeOptions> {
  // Every lazy layer's skeleton is a dir named "tree" (store/lazy-layers.ts):
  // only then is the store's check (and the blob store under it) loaded,
  // since a mount daemon reports ready only after this.
  if (!req.lowerdirs.some((d) => path.basename(d) === 'tree')) return {}
  const { isLazyTree } = await import('../store/lazy-layers.js')
  if (!req.lowerdirs.some(isLazyTree)) return {}
  const { openLayerSource } = await import('../registry/lazy-filler.js')
  return { openLayer: openLayerSource }
}
