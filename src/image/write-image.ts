// Stores an image: its config and manifest blobs, then its name in the index
// (or a nameless entry; or, for a build's intermediate images, which the
// build cache keeps, no entry). Returns the manifest descriptor.
import type { Store } from '../store/store.js'
import { MT, type Descriptor, type ImageConfig, type Manifest } from '../oci/oci-types.js'

export function writeImage (store: Store, config: ImageConfig | Buffer, layers: Descriptor[], name?: string, indexed = true): { manifest: Descriptor, configDigest: string } {
  // A loaded image keeps its config's exact bytes: its ID is their digest.
  const cfg = store.blobs.putBytes(Buffer.isBuffer(config) ? config : JSON.stringify(config))
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: cfg.digest, size: cfg.size },
    layers,
  }
  const m = store.blobs.putBytes(JSON.stringify(manifest))
  const desc: Descriptor = { mediaType: MT.ociManifest, digest: m.digest, size: m.size }
  if (name) store.index.tag(name, desc)
  else if (indexed) store.index.addDangling(desc)
  return { manifest: desc, configDigest: cfg.digest }
}
