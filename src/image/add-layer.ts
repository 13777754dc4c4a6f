// Turns an uncompressed layer tar (a temp file) into a stored layer: its
// DiffID (sha256 of the tar), its gzip blob in the OCI layout, and its
// extracted directory — each written once however many images share it.
import fs from 'node:fs'
import crypto from 'node:crypto'
import zlib from 'node:zlib'
import { pipeline } from 'node:stream/promises'
import { PassThrough } from 'node:stream'
import { errnoError } from '../union/errno-error.js'
import type { Store } from '../store/store.js'
import { extractLayer } from './layer-extract.js'
import { MT, UNCOMPRESSED_SIZE, type Descriptor } from './oci-types.js'

/** Progress of a long step: bytes done of total. */
export type Progress = (done: number, total: number) => void

export interface StoredLayer {
  diffID: string
  descriptor: Descriptor
}

export async function sha256File (file: string): Promise<string> {
  const hash = crypto.createHash('sha256')
  await pipeline(fs.createReadStream(file), hash)
  return 'sha256:' + hash.digest('hex')
}

/** Extracts the layer dir for `diffID` from its uncompressed tar, once. */
export async function installLayerDir (store: Store, diffID: string, tarFile: string, progress?: Progress): Promise<void> {
  const total = fs.statSync(tarFile).size
  await store.layers.install(diffID, (dir) => extractLayer(fs.createReadStream(tarFile), dir, progress && ((s) => progress(s.bytes, total))).then(() => undefined), total)
}

/** Uncompressed copy of a (possibly gzipped) layer file, and its DiffID; zstd is refused by name. */
export async function decompressLayer (file: string, out: string, what: string): Promise<string> {
  const fd = fs.openSync(file, 'r')
  const magic = Buffer.alloc(2)
  fs.readSync(fd, magic, 0, 2, 0)
  fs.closeSync(fd)
  const gz = magic[0] === 0x1f && magic[1] === 0x8b
  if (magic[0] === 0x28 && magic[1] === 0xb5) throw errnoError('ENOTSUP', `${what}: zstd-compressed layers are not supported`)
  try {
    await pipeline(fs.createReadStream(file), gz ? zlib.createGunzip() : new PassThrough(), fs.createWriteStream(out))
  } catch {
    throw errnoError('EBADMSG', `${what}: corrupt or truncated compressed data`)
  }
  return sha256File(out)
}

export async function addLayerFromTar (store: Store, tarFile: string, progress?: Progress): Promise<StoredLayer> {
  const diffID = await sha256File(tarFile)
  const size = fs.statSync(tarFile).size
  await installLayerDir(store, diffID, tarFile, progress)
  // gzip level 6 with no name or time in its header: the same tar always
  // compresses to the same blob.
  const blob = await store.blobs.putStream(fs.createReadStream(tarFile).pipe(zlib.createGzip({ level: 6 })))
  return {
    diffID,
    descriptor: { mediaType: MT.ociLayerGzip, digest: blob.digest, size: blob.size, annotations: { [UNCOMPRESSED_SIZE]: String(size) } },
  }
}
