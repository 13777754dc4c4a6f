// Turns an uncompressed layer tar (a temp file) into a stored layer: its
// DiffID (sha256 of the tar), its gzip blob in the OCI layout, and its
// extracted directory — each written once however many images share it.
import fs from 'node:fs'
import crypto from 'node:crypto'
import zlib from 'node:zlib'
import { pipeline } from 'node:stream/promises'
import path from 'node:path'
import { PassThrough, Transform } from 'node:stream'
import { errnoError } from '../base/errno-error.js'
import type { Store } from '../store/store.js'
import { extractLayer } from './layer-extract.js'
import { decompressionBound } from './decompression-bound.js'
import { MT, UNCOMPRESSED_SIZE, type Descriptor } from '../oci/oci-types.js'

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
  await store.layers.install(diffID, (dir) => extractLayer(fs.createReadStream(tarFile), dir, progress && ((s) => { progress(s.bytes, total) })).then(() => undefined), total)
}

/** Whether a layer blob is gzipped (else a plain tar); zstd is refused by name. */
function isGzip (file: string, what: string): boolean {
  const fd = fs.openSync(file, 'r')
  const magic = Buffer.alloc(4)
  try { fs.readSync(fd, magic, 0, 4, 0) } finally { fs.closeSync(fd) }
  if (magic.readUInt32LE(0) === 0xfd2fb528) throw errnoError('ENOTSUP', `${what}: zstd-compressed layers are not supported`)
  return magic[0] === 0x1f && magic[1] === 0x8b
}

/** Corrupt compressed data is EBADMSG; anything else (ENOSPC above all) keeps its code. */
export function compressionError (err: unknown, what: string): Error {
  const code = (err as { code?: string }).code
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') return errnoError('EBADMSG', `${what}: corrupt or truncated compressed data`)
  if (code === 'ENOSPC' && !(err as Error).message.includes(what)) return errnoError('ENOSPC', `${what}: no space left on the store's filesystem; nothing was stored`)
  return err as Error
}

/** Uncompressed copy of a (possibly gzipped) layer file, and its DiffID. */
export async function decompressLayer (file: string, out: string, what: string): Promise<string> {
  const gz = isGzip(file, what)
  const bound = decompressionBound(path.dirname(out), what)
  let size = 0
  const hash = crypto.createHash('sha256')
  try {
    await pipeline(fs.createReadStream(file), gz ? zlib.createGunzip() : new PassThrough(), new Transform({
      transform (chunk: Buffer, _enc, cb) {
        size += chunk.length
        try { bound(size) } catch (err) { cb(err as Error); return }
        hash.update(chunk)
        cb(null, chunk)
      },
    }), fs.createWriteStream(out))
  } catch (err) {
    throw compressionError(err, what)
  }
  return 'sha256:' + hash.digest('hex')
}

/**
 * Extracts a layer straight from its blob (gzipped or a plain tar), hashing
 * the tar on the way: the layer dir appears only if the tar's digest is
 * `diffID`; on a mismatch nothing is left. One pass, and no tar on disk.
 */
export async function installLayerFromBlob (store: Store, diffID: string, blob: string, what: string, progress?: Progress): Promise<void> {
  await store.layers.install(diffID, (dir) => extractBlobVerified(blob, dir, diffID, what, progress))
}

/**
 * Extracts a layer blob into the empty dir `dir`; throws (EBADMSG) unless
 * the tar's digest is `diffID`. Returns the tar's size.
 */
export async function extractBlobVerified (blob: string, dir: string, diffID: string, what: string, progress?: Progress): Promise<number> {
  const gz = isGzip(blob, what)
  const total = fs.statSync(blob).size
  // Big chunks: the extractor's cost is per chunk, and gunzip's default is 16 KiB.
  const raw = fs.createReadStream(blob, { highWaterMark: 1 << 20 })
  let read = 0
  raw.on('data', (c) => { read += c.length })
  const tar = gz ? raw.pipe(zlib.createGunzip({ chunkSize: 256 << 10 })) : raw
  raw.on('error', (err) => tar.destroy(err))
  const hash = crypto.createHash('sha256')
  let size = 0
  // A gzip bomb stops at the free space of the store, named as ENOSPC.
  const bound = decompressionBound(dir, what)
  const source = tar[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const step = (r: IteratorResult<Buffer>): IteratorResult<Buffer> => {
    if (!r.done) { hash.update(r.value); size += r.value.length; bound(size) }
    return r
  }
  // The extractor stops at the tar's end marker; the padding after it
  // belongs to the DiffID too, so the stream is not closed under us but
  // drained afterwards.
  const view: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: () => source.next().then(step),
      // eslint-disable-next-line @typescript-eslint/require-await -- an AsyncIterator returns a promise
      return: async () => ({ done: true as const, value: undefined }),
    }),
  }
  try {
    await extractLayer(view, dir, progress && (() => { progress(read, total) }))
    for (let r = await source.next(); !r.done; r = await source.next()) step(r)
  } catch (err) {
    tar.destroy()
    throw compressionError(err, what)
  }
  const got = 'sha256:' + hash.digest('hex')
  if (got !== diffID) throw errnoError('EBADMSG', `${what}: its content is ${got} but the config says ${diffID}; nothing was stored`)
  return size
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
