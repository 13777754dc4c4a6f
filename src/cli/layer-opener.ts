// Which LayerSource serves each lower dir of a mount: a lazily pulled
// layer's skeleton tree needs the registry client (loaded only then, so an
// ordinary mount pays nothing for it); with STRATA_RECORD_OPENS=FILE (set
// by `--estargz-record`'s run only) a RecordingLayer appends each opened
// file's path to FILE; every other dir is a DirLayer. Lives in cli/ because
// only an entry point may reach from fuse/ up to registry/.
import fs from 'node:fs'
import type { MountRequest } from '../fuse/mount-options.js'
import { mayHaveLazyTree } from '../store/lazy-tree-name.js'
import type { ServeOptions } from '../fuse/serve.js'
import type { LayerSource } from '../union/layer-source.js'

/** The lazy layers' opener, if any lower is a lazy skeleton. */
async function lazyOpener (req: MountRequest): Promise<{ open: (dir: string) => LayerSource, isLazy: (dir: string) => boolean } | null> {
  // Only then is the store's check (and the blob store under it) loaded,
  // since a mount daemon reports ready only after this.
  if (!mayHaveLazyTree(req.lowerdirs)) return null
  const { isLazyTree } = await import('../store/lazy-layers.js')
  if (!req.lowerdirs.some(isLazyTree)) return null
  const { openLayerSource } = await import('../registry/lazy-filler.js')
  return { open: openLayerSource, isLazy: isLazyTree }
}

export async function layerOpener (req: MountRequest): Promise<ServeOptions> {
  const record = process.env.STRATA_RECORD_OPENS
  const lazy = await lazyOpener(req)
  if (record) {
    const { RecordingLayer } = await import('../union/recording-layer.js')
    // One short O_APPEND write a line: the file is read after the run.
    const onOpen = (file: string): void => { fs.appendFileSync(record, file + '\n') }
    return { openLayer: (d) => lazy?.isLazy(d) ? lazy.open(d) : new RecordingLayer(d, onOpen) }
  }
  return lazy ? { openLayer: lazy.open } : {}
}
