// Which LayerSource serves each lower dir of a mount: a lazily pulled
// layer's skeleton tree needs the registry client (loaded only then, so an
// ordinary mount pays nothing for it); every other dir is a DirLayer. Lives
// in cli/ because only an entry point may reach from fuse/ up to registry/.
import type { MountRequest } from '../fuse/mount-options.js'
import type { ServeOptions } from '../fuse/serve.js'
import { isLazyTree } from '../store/lazy-layers.js'

export async function layerOpener (req: MountRequest): Promise<ServeOptions> {
  if (!req.lowerdirs.some(isLazyTree)) return {}
  const { openLayerSource } = await import('../registry/lazy-filler.js')
  return { openLayer: openLayerSource }
}
