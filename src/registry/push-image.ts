// `strata image push`: an image of the store to a registry, under the name
// it has locally (host/repo:tag, as docker requires). Layers the registry
// has are skipped, those another repository of the registry has are
// mounted, the rest uploaded; then the config, and last the manifest, byte
// for byte as stored, with its own media type; the registry's
// Docker-Content-Digest must be the manifest's digest.
import type { Store } from '../store/store.js'
import { errnoError } from '../base/errno-error.js'
import { MT } from '../oci/oci-types.js'
import { loadImage, resolveImage } from '../image/resolve-image.js'
import { convertToEstargz } from '../image/convert-estargz.js'
import { RegistryClient, type ClientOptions } from './registry-client.js'
import { parseRegistryRef } from './registry-ref.js'
import { loadCredentials } from './credentials.js'
import { uploadBlob, type UploadOptions } from './blob-upload.js'
import { blobSources, noteBlobSources } from './blob-sources.js'
import { noteRepoDigest } from './repo-digests.js'
import { eachLimited } from './each-limited.js'
import { completeLazyImage } from './lazy-fill.js'
import type { TransferEvents } from './transfer-events.js'

export interface PushOptions extends ClientOptions {
  events?: TransferEvents
  chunkSize?: UploadOptions['chunkSize']
  /** Push eStargz layers (converted into the store first, not named there). */
  estargz?: boolean
  /** With estargz: files put before the prefetch landmark. */
  prioritized?: string[]
}

export interface Pushed {
  digest: string
  size: number
}

export async function pushImage (store: Store, ref: string, o: PushOptions = {}): Promise<Pushed> {
  const r = parseRegistryRef(ref)
  if (r.digest) throw errnoError('EINVAL', `push a tag, not a digest: ${ref}`)
  const ev = o.events ?? {}
  let img = resolveImage(store, r.name)
  // A lazily pulled image is pushed whole: its layers are completed (and verified) first.
  await completeLazyImage(store, img)
  if (o.estargz) img = loadImage(store, (await convertToEstargz(store, img, undefined, { prioritized: o.prioritized })).manifestDigest)
  for (const d of [img.manifestDigest, img.configDigest, ...img.manifest.layers.map((l) => l.digest)]) {
    if (!store.blobs.has(d)) throw errnoError('ENOENT', `blob ${d} of ${r.name} is missing from the store (strata system check)`)
  }
  const client = new RegistryClient(r.host, { ...o, credentials: o.credentials !== undefined ? o.credentials : loadCredentials(r.host) })
  ev.line?.(`The push refers to repository [${r.host}/${r.repository}]`)
  await client.connect()
  const layers = [...img.manifest.layers].reverse()
  for (const l of layers) ev.layer?.(l.digest, 'Preparing')
  for (const l of layers.slice(3)) ev.layer?.(l.digest, 'Waiting')
  await eachLimited(layers, 3, async (l) => {
    const out = await uploadBlob(client, r.repository, l, store.blobs.path(l.digest), {
      mountFrom: blobSources(store, r.host, l.digest),
      chunkSize: o.chunkSize,
      onBytes: (done, total) => ev.layer?.(l.digest, 'Pushing', { done, total }),
    })
    ev.layer?.(l.digest, out.how === 'exists' ? 'Layer already exists' : out.how === 'mounted' ? `Mounted from ${out.from}` : 'Pushed')
  })
  await uploadBlob(client, r.repository, img.manifest.config, store.blobs.path(img.configDigest), { chunkSize: o.chunkSize, mountFrom: blobSources(store, r.host, img.configDigest) })

  const bytes = store.blobs.read(img.manifestDigest)
  const mediaType = img.manifest.mediaType ?? MT.ociManifest
  const res = await client.request('PUT', `/v2/${r.repository}/manifests/${r.tag}`, {
    headers: { 'Content-Type': mediaType },
    body: bytes,
    scopes: [`repository:${r.repository}:pull,push`],
  })
  if (res.status !== 201) throw await client.failure(res, `PUT manifest ${r.name}`)
  await res.body?.cancel()
  const got = res.headers.get('docker-content-digest')
  if (got && got !== img.manifestDigest) throw errnoError('EBADMSG', `${r.name}: the registry stored the manifest as ${got}, not ${img.manifestDigest}`)
  await store.locked(() => {
    noteBlobSources(store, r.host, r.repository, [img.configDigest, ...img.manifest.layers.map((l) => l.digest)])
    noteRepoDigest(store, img.manifestDigest, `${r.host}/${r.repository}`, img.manifestDigest)
  })
  ev.line?.(`${r.tag}: digest: ${img.manifestDigest} size: ${bytes.length}`)
  return { digest: img.manifestDigest, size: bytes.length }
}
