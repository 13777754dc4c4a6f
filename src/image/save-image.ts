// `strata image save`: images as a docker-archive (manifest.json,
// repositories, <config>.json, <diffid>/layer.tar uncompressed — what docker
// load and skopeo docker-archive: read) or as an OCI image layout archive
// (oci-layout, index.json, blobs/sha256/… as stored, gzipped).
import fs from 'node:fs'
import zlib from 'node:zlib'
import type { Readable, Writable } from 'node:stream'
import type { Store } from '../store/store.js'
import { manifestDescriptor, type Image } from './resolve-image.js'
import { TarWriter } from './tar-writer.js'
import { emptyHeader } from './tar-header.js'
import { MT, REF_NAME, type Descriptor } from '../oci/oci-types.js'

export type ArchiveFormat = 'docker-archive' | 'oci'

const file = (name: string, size: number): ReturnType<typeof emptyHeader> => {
  const h = emptyHeader(name, 'file')
  h.size = size
  return h
}
const dir = (name: string): ReturnType<typeof emptyHeader> => {
  const h = emptyHeader(name, 'dir')
  h.mode = 0o755
  return h
}

export async function saveImages (store: Store, images: Array<{ image: Image, names: string[] }>, format: ArchiveFormat, out: Writable): Promise<void> {
  const tar = new TarWriter(out)
  const addBytes = async (name: string, data: Buffer | string): Promise<void> => {
    const b = Buffer.from(data)
    await tar.add(file(name, b.length), b)
  }
  const written = new Set<string>()
  if (format === 'oci') {
    await addBytes('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }))
    await tar.add(dir('blobs/'))
    await tar.add(dir('blobs/sha256/'))
    const manifests: Descriptor[] = []
    for (const { image, names } of images) {
      const blobs = [image.manifestDigest, image.configDigest, ...image.manifest.layers.map((l) => l.digest)]
      for (const d of blobs) {
        if (written.has(d)) continue
        written.add(d)
        await tar.add(file(`blobs/sha256/${d.slice(7)}`, store.blobs.size(d)), store.blobs.stream(d))
      }
      const desc = manifestDescriptor(store, image)
      if (names.length === 0) manifests.push(desc)
      for (const n of names) manifests.push({ ...desc, annotations: { [REF_NAME]: n, 'io.containerd.image.name': n } })
    }
    await addBytes('index.json', JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests }))
  } else {
    const manifest: Array<{ Config: string, RepoTags: string[], Layers: string[] }> = []
    const repositories: Record<string, Record<string, string>> = {}
    for (const { image, names } of images) {
      const config = `${image.configDigest.slice(7)}.json`
      if (!written.has(config)) {
        written.add(config)
        await addBytes(config, store.blobs.read(image.configDigest))
      }
      const layers: string[] = []
      for (let i = 0; i < image.manifest.layers.length; i++) {
        const id = image.config.rootfs.diff_ids[i].slice(7)
        layers.push(`${id}/layer.tar`)
        if (written.has(id)) continue
        written.add(id)
        await tar.add(dir(`${id}/`))
        const digest = image.manifest.layers[i].digest
        // A tar entry needs its size first; a pulled layer may not record it.
        const size = image.tarSizes[i] ?? await countBytes(layerTar(store, digest))
        await tar.add(file(`${id}/layer.tar`, size), layerTar(store, digest))
      }
      manifest.push({ Config: config, RepoTags: names, Layers: layers })
      for (const n of names) {
        const i = n.lastIndexOf(':')
        repositories[n.slice(0, i)] = { ...(repositories[n.slice(0, i)] ?? {}), [n.slice(i + 1)]: layers.at(-1)?.split('/')[0] ?? '' }
      }
    }
    await addBytes('manifest.json', JSON.stringify(manifest))
    await addBytes('repositories', JSON.stringify(repositories))
  }
  await tar.finish()
}

export async function saveImagesToFile (store: Store, images: Array<{ image: Image, names: string[] }>, format: ArchiveFormat, path: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  const ws = fs.createWriteStream(tmp, { flags: 'wx' })
  try {
    await saveImages(store, images, format, ws)
    ws.end()
    await new Promise<void>((resolve, reject) => ws.on('finish', () => { resolve() }).on('error', reject))
    fs.renameSync(tmp, path)
  } finally {
    fs.rmSync(tmp, { force: true })
  }
}

/** A layer blob as its tar: gunzipped, unless it is stored uncompressed. */
function layerTar (store: Store, digest: string): Readable {
  const fd = fs.openSync(store.blobs.path(digest), 'r')
  const magic = Buffer.alloc(2)
  try { fs.readSync(fd, magic, 0, 2, 0) } finally { fs.closeSync(fd) }
  const raw = store.blobs.stream(digest)
  return magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(zlib.createGunzip()) : raw
}

async function countBytes (s: Readable): Promise<number> {
  let n = 0
  for await (const c of s) n += (c as Buffer).length
  return n
}
