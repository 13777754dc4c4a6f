// Finds an image in the store by name (debian:12, debian → :latest), by image
// ID (config digest, or a prefix of at least 4 hex digits), or by manifest
// digest; and reads its manifest and config.
import type { Store } from '../store/store.js'
import { errnoError } from '../base/errno-error.js'
import { parseReference } from './reference.js'
import { MT, REF_NAME, UNCOMPRESSED_SIZE, type Descriptor, type ImageConfig, type Manifest } from '../oci/oci-types.js'

export interface Image {
  manifestDigest: string
  manifest: Manifest
  configDigest: string
  config: ImageConfig
  names: string[]
  /** Each layer's uncompressed tar size, where the manifest or the store knows it. */
  tarSizes: Array<number | null>
}

export function loadImage (store: Store, manifestDigest: string): Image {
  const manifest = store.blobs.readJson<Manifest>(manifestDigest)
  const config = store.blobs.readJson<ImageConfig>(manifest.config.digest)
  const names = store.index.entries().filter((m) => m.digest === manifestDigest).map((m) => m.annotations?.[REF_NAME]).filter((n): n is string => !!n)
  const tarSizes = manifest.layers.map((l, i) => {
    const annotated = Number(l.annotations?.[UNCOMPRESSED_SIZE] ?? NaN)
    if (Number.isSafeInteger(annotated)) return annotated
    if (l.mediaType === MT.ociLayer || l.mediaType === MT.dockerLayer) return l.size
    const id = config.rootfs?.diff_ids?.[i]
    return id ? store.layers.tarSize(id) : null
  })
  return { manifestDigest, manifest, configDigest: manifest.config.digest, config, names, tarSizes }
}

/** The index descriptor of an image's manifest, with the manifest's own media type (OCI or Docker). */
export function manifestDescriptor (store: Store, img: Image): Descriptor {
  return { mediaType: img.manifest.mediaType ?? MT.ociManifest, digest: img.manifestDigest, size: store.blobs.size(img.manifestDigest) }
}

export function listImages (store: Store): Image[] {
  const seen = new Set<string>()
  const out: Image[] = []
  for (const m of store.index.entries()) {
    if (seen.has(m.digest)) continue
    seen.add(m.digest)
    out.push(loadImage(store, m.digest))
  }
  return out
}

export function resolveImage (store: Store, ref: string): Image {
  const entries = store.index.entries()
  if (!ref.startsWith('sha256:') && !/^[0-9a-f]{4,64}$/.test(ref)) {
    const name = parseReference(ref).name
    const byName = entries.find((m) => m.annotations?.[REF_NAME] === name)
    if (byName) return loadImage(store, byName.digest)
    throw errnoError('ENOENT', `no image ${name} in the store (strata image ls lists them)`)
  }
  const hex = ref.replace(/^sha256:/, '')
  const matches = new Map<string, Image>()
  for (const m of entries) {
    if (matches.has(m.digest)) continue
    const img = loadImage(store, m.digest)
    if (img.configDigest.slice(7).startsWith(hex) || m.digest.slice(7).startsWith(hex)) matches.set(m.digest, img)
  }
  if (matches.size === 0) throw errnoError('ENOENT', `no image with ID ${ref}`)
  if (matches.size > 1) throw errnoError('EINVAL', `image ID ${ref} is ambiguous (${matches.size} images)`)
  return [...matches.values()][0]
}
