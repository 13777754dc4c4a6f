// `strata commit`: a container's upper dir becomes a new layer on its image
// (or, when nothing changed, a metadata-only history entry), with -m, -a and
// -c as docker commit takes them.
import fs from 'node:fs'
import path from 'node:path'
import type { Store } from '../store/store.js'
import type { ContainerRecord } from '../store/container-store.js'
import { tempName } from '../base/atomic-file.js'
import { errnoError } from '../base/errno-error.js'
import { archiveLayerToFile } from './layer-archive.js'
import { addLayerFromTar, type Progress } from './add-layer.js'
import { applyChanges } from './config-changes.js'
import { writeImage } from './write-image.js'
import { changeStore } from './collect-garbage.js'
import { loadImage } from './resolve-image.js'
import { parseReference } from './reference.js'
import type { ImageConfig } from '../oci/oci-types.js'

export interface CommitOptions {
  message?: string
  author?: string
  changes?: string[]
  /** Runs the read of the upper dir; a mounted container's caller holds its writes meanwhile. */
  hold?: <T>(read: () => Promise<T>) => Promise<T>
  progress?: Progress
}

export async function commitContainer (store: Store, c: ContainerRecord, name: string | undefined, opts: CommitOptions = {}): Promise<{ id: string, manifest: string }> {
  const ref = name ? parseReference(name).name : undefined
  const base = loadImage(store, c.manifest)
  const upper = store.containers.upper(c)
  const tar = tempName(path.join(store.tmp, 'commit.tar'))
  const hold = opts.hold ?? (<T>(read: () => Promise<T>) => read())
  try {
    const empty = await hold(async () => {
      if (fs.readdirSync(upper).length === 0) return true
      // The image's layers, top first: a renamed directory's content is there.
      const lowers = (): string[] => [...base.config.rootfs.diff_ids].reverse().map((d) => store.layers.require(d))
      await archiveLayerToFile(upper, tar, { lowers })
      return false
    })
    return await changeStore(store, async () => {
      const created = new Date().toISOString()
      const config: ImageConfig = JSON.parse(JSON.stringify(base.config)) as ImageConfig
      const layers = [...base.manifest.layers]
      if (!empty) {
        const layer = await addLayerFromTar(store, tar, opts.progress)
        config.rootfs.diff_ids.push(layer.diffID)
        layers.push(layer.descriptor)
      }
      config.created = created
      if (opts.author) config.author = opts.author
      else delete config.author
      config.config = applyChanges(config.config, opts.changes ?? [])
      config.history = [...(config.history ?? []), {
        created,
        ...(opts.author ? { author: opts.author } : {}),
        created_by: `strata commit${opts.changes?.length ? ' -c ' + opts.changes.map((x) => JSON.stringify(x)).join(' -c ') : ''} ${c.name}`,
        ...(opts.message ? { comment: opts.message } : {}),
        ...(empty ? { empty_layer: true } : {}),
      }]
      const { manifest, configDigest } = writeImage(store, config, layers, ref)
      return { id: configDigest, manifest: manifest.digest }
    })
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOSPC') throw errnoError('ENOSPC', `the store ${store.root} is full (committing container ${c.name}); nothing was stored`)
    throw err
  } finally {
    fs.rmSync(tar, { force: true })
  }
}
