// `strata image pull`: an image from a registry into the store. The
// manifest (or, from an image index, the linux/amd64 one), the config and
// each missing layer blob are downloaded into a staging dir and verified
// against their digests. Then, under the store lock, each layer is extracted
// straight from its blob into a hidden dir that appears only if the tar's
// digest is the config's DiffID, the verified blobs are moved in, and config
// and manifest are stored byte for byte (so the image keeps the registry's
// digests). A failure at any point leaves the store as it was (changeStore
// collects what a failed pull had added).
import fs from 'node:fs'
import path from 'node:path'
import { ownedPrefix } from '../store/stale-temp.js'
import type { Store } from '../store/store.js'
import { errnoError } from '../base/errno-error.js'
import { MT, type Descriptor, type ImageConfig, type Manifest } from '../oci/oci-types.js'
import { installLayerFromBlob } from '../image/add-layer.js'
import { checkFits } from '../image/decompression-bound.js'
import { changeStore } from '../image/collect-garbage.js'
import { resolveImage } from '../image/resolve-image.js'
import { RegistryClient, type ClientOptions } from './registry-client.js'
import { parseRegistryRef } from './registry-ref.js'
import { loadCredentials } from './credentials.js'
import { fetchManifest } from './manifest-fetch.js'
import { downloadBlob, fetchSmallBlob } from './blob-download.js'
import { noteBlobSources } from './blob-sources.js'
import { noteRepoDigest } from './repo-digests.js'
import { eachLimited } from './each-limited.js'
import type { TransferEvents } from './transfer-events.js'
import { isEstargzLayer } from '../image/convert-estargz.js'
import { installLazyLayer, lazyTree } from '../store/lazy-layers.js'
import { fetchToc, type FetchedToc } from './estargz-toc.js'
import { buildSkeleton } from './lazy-skeleton.js'

export interface PullOptions extends ClientOptions {
  events?: TransferEvents
  /** eStargz layers: store their TOC only, content fetched when read (see lazy-filler). */
  lazy?: boolean
}

export interface Pulled {
  /** The local name (host/repo:tag); none when pulled by digest. */
  name?: string
  /** The digest pulled: the index's when the tag named one. */
  digest: string
  /** The image ID (config digest). */
  id: string
  upToDate: boolean
}

const LAYER_TYPES = new Set<string>([
  MT.ociLayerGzip, MT.ociLayer, MT.dockerLayerGzip,
  MT.dockerLayer,
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
])

function pickPlatform (doc: { manifests?: unknown }, what: string): Descriptor {
  const list = (Array.isArray(doc.manifests) ? doc.manifests : []) as Descriptor[]
  const linux = list.filter((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64')
  const pick = linux.find((m) => !m.platform?.variant) ?? linux[0]
  if (!pick) {
    const have = list.map((m) => m.platform ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? '/' + m.platform.variant : ''}` : 'unknown').join(', ')
    throw errnoError('ENOENT', `${what} has no linux/amd64 image (it has: ${have || 'nothing'})`)
  }
  return pick
}

export async function pullImage (store: Store, ref: string, o: PullOptions = {}): Promise<Pulled> {
  const r = parseRegistryRef(ref)
  const ev = o.events ?? {}
  const client = new RegistryClient(r.host, { ...o, credentials: o.credentials !== undefined ? o.credentials : loadCredentials(r.host) })
  const top = await fetchManifest(client, r.repository, r.digest ?? r.tag)
  const isIndex = top.mediaType === MT.ociIndex || top.mediaType === MT.dockerList || (Array.isArray(top.doc.manifests) && !top.doc.layers)
  const image = isIndex ? await fetchManifest(client, r.repository, pickPlatform(top.doc, `${r.host}/${r.repository}`).digest) : top
  if (image.mediaType !== MT.ociManifest && image.mediaType !== MT.dockerManifest) {
    throw errnoError('ENOTSUP', `${ref}: unsupported manifest type "${image.mediaType}"`)
  }
  const manifest = image.doc as Manifest
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) throw errnoError('EBADMSG', `${ref}: the manifest has no config or layers`)
  for (const l of manifest.layers) {
    if (!LAYER_TYPES.has(l.mediaType)) throw errnoError('ENOTSUP', `${ref}: layer ${l.digest} has media type ${l.mediaType}, which strata cannot unpack`)
  }
  const name = r.digest ? undefined : r.name
  ev.line?.(`${r.digest ?? r.tag}: Pulling from ${r.repository}`)

  if (name && isUpToDate(store, name, image.digest, manifest)) {
    ev.line?.(`Digest: ${top.digest}`)
    ev.line?.(`Status: Image is up to date for ${name}`)
    return { name, digest: top.digest, id: manifest.config.digest, upToDate: true }
  }

  const configBytes = await fetchSmallBlob(client, r.repository, manifest.config)
  let config: ImageConfig
  try {
    config = JSON.parse(configBytes.toString('utf8')) as ImageConfig
  } catch {
    throw errnoError('EBADMSG', `${ref}: the config ${manifest.config.digest} is not valid JSON`)
  }
  const diffIDs = config.rootfs?.diff_ids ?? []
  if (diffIDs.length !== manifest.layers.length) {
    throw errnoError('EBADMSG', `${ref}: the manifest has ${manifest.layers.length} layers but the config names ${diffIDs.length}`)
  }

  const staging = fs.mkdtempSync(ownedPrefix(store.tmp, 'pull-'))
  try {
    const layers = manifest.layers.map((desc, i) => {
      const lazy = o.lazy === true && isEstargzLayer(desc) && !store.layers.has(diffIDs[i])
      return {
        desc,
        diffID: diffIDs[i],
        blob: store.blobs.has(desc.digest) ? store.blobs.path(desc.digest) : path.join(staging, `${desc.digest.slice(7)}.blob`),
        needBlob: !lazy && !store.blobs.has(desc.digest),
        needDir: !lazy && !store.layers.has(diffIDs[i]),
        needToc: lazy && lazyTree(store.root, diffIDs[i]) === null,
        toc: null as FetchedToc | null,
      }
    })
    for (const l of layers) ev.layer?.(l.desc.digest, l.needBlob || l.needDir || l.needToc ? 'Pulling fs layer' : 'Already exists')
    await eachLimited(layers.filter((l) => l.needToc), 3, async (l) => {
      l.toc = await fetchToc(client, r.repository, l.desc)
      ev.layer?.(l.desc.digest, 'Table of contents verified (content fetched when read)')
    })
    // The blobs the manifest claims must fit before any is fetched: ENOSPC early, named.
    checkFits(staging, layers.filter((l) => l.needBlob).reduce((n, l) => n + l.desc.size, 0), `${ref}: its layer blobs`)
    await eachLimited(layers.filter((l) => l.needBlob), 3, async (l) => {
      const onBytes = (done: number, total: number): void => ev.layer?.(l.desc.digest, 'Downloading', { done, total })
      try {
        await downloadBlob(client, r.repository, l.desc, l.blob, { onBytes })
      } catch (err) {
        // A corrupt download may be a one-off on the way; a second one is not.
        if ((err as { code?: string }).code !== 'EBADMSG') throw err
        ev.layer?.(l.desc.digest, 'Retrying (digest mismatch)')
        await downloadBlob(client, r.repository, l.desc, l.blob, { onBytes })
      }
      ev.layer?.(l.desc.digest, 'Verifying Checksum')
      ev.layer?.(l.desc.digest, 'Download complete')
    })
    await changeStore(store, async () => {
      for (const l of layers) {
        if (l.toc) {
          const t = l.toc
          const source = { host: r.host, repository: r.repository, digest: l.desc.digest, size: l.desc.size, diffID: l.diffID, tocOffset: t.tocOffset, insecure: o.insecure }
          await installLazyLayer(store.root, source, t.json, (tree) => buildSkeleton(t.toc, t.header, t.json, tree), t.read)
          ev.layer?.(l.desc.digest, 'Pull complete (lazy)')
        }
        if (l.needDir) {
          await installLayerFromBlob(store, l.diffID, l.blob, `layer ${l.desc.digest} of ${ref}`,
            (done, total) => ev.layer?.(l.desc.digest, 'Extracting', { done, total }))
        }
        if (l.needBlob) store.blobs.adopt(l.blob, l.desc.digest)
        if (l.needBlob || l.needDir) ev.layer?.(l.desc.digest, 'Pull complete')
      }
      store.blobs.putBytes(configBytes)
      const m = store.blobs.putBytes(image.bytes)
      const desc = { mediaType: image.mediaType, digest: m.digest, size: m.size }
      if (name) store.index.tag(name, desc)
      else store.index.addDangling(desc)
      noteBlobSources(store, r.host, r.repository, [manifest.config.digest, ...manifest.layers.map((l) => l.digest)])
      noteRepoDigest(store, m.digest, `${r.host}/${r.repository}`, top.digest)
    })
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
  ev.line?.(`Digest: ${top.digest}`)
  ev.line?.(`Status: Downloaded newer image for ${name ?? `${r.host}/${r.repository}@${top.digest}`}`)
  return { name, digest: top.digest, id: manifest.config.digest, upToDate: false }
}

function isUpToDate (store: Store, name: string, manifestDigest: string, m: Manifest): boolean {
  try {
    const img = resolveImage(store, name)
    return img.manifestDigest === manifestDigest && store.blobs.has(m.config.digest) &&
      m.layers.every((l, i) => store.blobs.has(l.digest) && store.layers.has(img.config.rootfs.diff_ids[i]))
  } catch {
    return false
  }
}
