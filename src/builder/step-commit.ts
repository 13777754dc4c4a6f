// How a step becomes an image: a cache lookup (an entry whose image or
// layers were collected since is a miss), and a commit that writes the next
// image — the stage's config plus a layer (or none, with an empty_layer
// history entry) — and records it in the build cache under the step's key.
// Intermediate images are not in the index: the build cache refers to them.
import type { ContainerConfig, ImageConfig } from '../oci/oci-types.js'
import { loadImage } from '../image/resolve-image.js'
import { addLayerFromTar } from '../image/add-layer.js'
import { writeImage } from '../image/write-image.js'
import { changeStore } from '../image/collect-garbage.js'
import { type Build, type Stage, short, stepKey } from './build-state.js'

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T

/** The image the cache holds for `key`, as the stage it makes, or null. */
export function cachedStep (b: Build, stage: Stage, key: string): Stage | null {
  if (b.noCache) return null
  const m = b.store.buildCache.get(key)
  if (!m) return null
  try {
    const img = loadImage(b.store, m)
    if (!img.manifest.layers.every((l) => b.store.blobs.has(l.digest)) || !img.config.rootfs.diff_ids.every((d) => b.store.layers.has(d))) return null
    return { ...stage, config: img.config, layers: img.manifest.layers, manifest: m, id: img.configDigest }
  } catch {
    return null // collected since: build it again
  }
}

/** The next image: the stage's plus a layer (or none) and a history entry. */
export function commitStep (b: Build, stage: Stage, key: string, createdBy: string, tar: string | null, change?: (c: ContainerConfig, img: ImageConfig) => void): Promise<Stage> {
  return changeStore(b.store, async () => {
    const config = clone(stage.config)
    const layers = [...stage.layers]
    if (tar) {
      const layer = await addLayerFromTar(b.store, tar)
      config.rootfs.diff_ids.push(layer.diffID)
      layers.push(layer.descriptor)
    }
    const created = new Date().toISOString()
    config.created = created
    config.config = config.config ?? {}
    change?.(config.config, config)
    config.history = [...(config.history ?? []), { created, created_by: createdBy, ...(tar ? {} : { empty_layer: true }) }]
    const { manifest, configDigest } = writeImage(b.store, config, layers, undefined, false)
    b.store.buildCache.put(key, manifest.digest)
    return { ...stage, config, layers, manifest: manifest.digest, id: configDigest }
  })
}

/** A step that only changes the config (ENV, LABEL, CMD, …). */
export async function metaStep (b: Build, stage: Stage, createdBy: string, change: (c: ContainerConfig, img: ImageConfig) => void): Promise<Stage> {
  const key = stepKey(stage, createdBy)
  const hit = cachedStep(b, stage, key)
  if (hit) b.log(' ---> Using cache')
  const next = hit ?? await commitStep(b, stage, key, createdBy, null, change)
  b.log(` ---> ${short(next.id!)}`)
  return next
}

/** The stage's shell form prefix: SHELL's, or /bin/sh -c. */
export const shellOf = (stage: Stage): string[] => stage.config.config?.Shell ?? ['/bin/sh', '-c']
/** docker's history text of a config-only step (its shell, then #(nop)). */
export const nop = (stage: Stage, what: string): string => `${shellOf(stage).join(' ')} #(nop)  ${what}`
/** docker's history spelling of an argv: ["a" "b"]. */
export const argvText = (argv: string[]): string => `[${argv.map((a) => JSON.stringify(a)).join(' ')}]`
