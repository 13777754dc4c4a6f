// An eStargz copy of a stored image (`strata image convert --estargz`, and
// `strata image push --estargz` on the way out). Each layer blob is rewritten
// by writeEstargz; its descriptor gains the toc.digest and uncompressed-size
// annotations, and the config its new DiffIDs (the landmark and TOC entries
// are part of the tar). Layers already in eStargz are kept as they are. The
// new layers are extracted (verified against their DiffIDs) so that the new
// image mounts like any other. Nothing is named until everything is stored.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import type { Store } from '../store/store.js'
import { ownedPrefix } from '../store/stale-temp.js'
import { errnoError } from '../base/errno-error.js'
import { MT, UNCOMPRESSED_SIZE, type Descriptor, type ImageConfig } from '../oci/oci-types.js'
import { ESTARGZ_UNCOMPRESSED_SIZE, TOC_DIGEST } from '../oci/estargz.js'
import { installLayerFromBlob } from './add-layer.js'
import { changeStore } from './collect-garbage.js'
import { loadImage, resolveImage, type Image } from './resolve-image.js'
import { writeImage } from './write-image.js'
import { writeEstargz, type EstargzOptions } from './estargz-writer.js'
import { parseReference } from './reference.js'

export interface Converted {
  manifestDigest: string
  configDigest: string
  /** Layers rewritten (the others were eStargz already). */
  converted: number
}

function layerStream (store: Store, desc: Descriptor): AsyncIterable<Buffer> {
  const raw = store.blobs.stream(desc.digest)
  if (desc.mediaType === MT.ociLayer || desc.mediaType === MT.dockerLayer) return raw
  const gunzip = zlib.createGunzip({ chunkSize: 256 << 10 })
  raw.on('error', (err) => gunzip.destroy(err))
  return raw.pipe(gunzip)
}

export const isEstargzLayer = (d: Descriptor): boolean => typeof d.annotations?.[TOC_DIGEST] === 'string'

/**
 * Stores the eStargz form of `img`; named `name` when given, else left
 * out of the index (a push's temporary, collected as garbage later).
 */
export async function convertToEstargz (store: Store, img: Image, name: string | undefined, o: EstargzOptions = {}): Promise<Converted> {
  const staging = fs.mkdtempSync(ownedPrefix(store.tmp, 'estargz-'))
  try {
    const out: Array<{ desc: Descriptor, diffID: string, file?: string }> = []
    let converted = 0
    for (const [i, desc] of img.manifest.layers.entries()) {
      const diffID = img.config.rootfs.diff_ids[i]
      if (isEstargzLayer(desc)) {
        out.push({ desc, diffID })
        continue
      }
      if (!store.blobs.has(desc.digest)) throw errnoError('ENOENT', `blob ${desc.digest} of layer ${i + 1} is missing from the store (strata system check)`)
      const file = path.join(staging, `layer-${i}`)
      let r
      try {
        r = await writeEstargz(() => layerStream(store, desc), file, o)
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') throw errnoError('EBADMSG', `layer ${desc.digest}: corrupt compressed data`)
        throw err
      }
      converted++
      out.push({
        file,
        diffID: r.diffID,
        desc: {
          mediaType: MT.ociLayerGzip,
          digest: r.digest,
          size: r.size,
          annotations: { [TOC_DIGEST]: r.tocDigest, [ESTARGZ_UNCOMPRESSED_SIZE]: String(r.uncompressedSize), [UNCOMPRESSED_SIZE]: String(r.uncompressedSize) },
        },
      })
    }
    const config: ImageConfig = { ...img.config, rootfs: { type: 'layers', diff_ids: out.map((l) => l.diffID) } }
    return await changeStore(store, async () => {
      for (const l of out) {
        if (!l.file) continue
        // A push's temporary is never mounted: no layer dir for it.
        if (name !== undefined && !store.layers.has(l.diffID)) await installLayerFromBlob(store, l.diffID, l.file, `eStargz layer ${l.desc.digest}`)
        if (!store.blobs.has(l.desc.digest)) store.blobs.adopt(l.file, l.desc.digest)
      }
      const w = writeImage(store, config, out.map((l) => l.desc), name, name !== undefined)
      return { manifestDigest: w.manifest.digest, configDigest: w.configDigest, converted }
    })
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

/** `strata image convert --estargz SRC DST`. */
export async function convertImage (store: Store, src: string, dst: string, o: EstargzOptions = {}): Promise<Converted & { image: Image }> {
  const img = resolveImage(store, src)
  const r = await convertToEstargz(store, img, parseReference(dst).name, o)
  return { ...r, image: loadImage(store, r.manifestDigest) }
}
