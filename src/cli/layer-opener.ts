// Which LayerSource serves each lower dir of a mount: a lazily pulled
// layer's skeleton tree needs the registry client (loaded only then, so an
// ordinary mount pays nothing for it); with STRATA_RECORD_OPENS=FILE (set
// by `--estargz-record`'s run only) a RecordingLayer appends each opened
// file's path to FILE; every other dir is a DirLayer. Lives in cli/ because
// only an entry point may reach from fuse/ up to registry/.
import fs from 'node:fs'
import type { MountRequest } from '../fuse/mount-options.js'
import type { ServeOptions } from '../fuse/serve.js'
import { isLazyTree } from '../store/lazy-layers.js'

export async function layerOpener (req: MountRequest): Promise<ServeOptions> {
  const record = process.env.STRATA_RECORD_OPENS
  const lazy = req.lowerdirs.some(isLazyTree) ? (await import('../registry/lazy-filler.js')).openLayerSource : null
  if (record) {
    const { RecordingLayer } = await import('../union/recording-layer.js')
    // One short O_APPEND write a line: the file is read after the run.
    const onOpen = (file: string): void => { fs.appendFileSync(record, file + '\n') }
    return { openLayer: (d) => lazy && isLazyTree(d) ? lazy(d) : new RecordingLayer(d, onOpen) }
  }
  return lazy ? { openLayer: lazy } : {}
}
