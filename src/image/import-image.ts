// `strata image import`: a rootfs as a tar, a gzipped tar, a directory, or
// stdin ("-") becomes a one-layer image.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { Readable, PassThrough, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Store } from '../store/store.js'
import { tempName } from '../base/atomic-file.js'
import { errnoError } from '../base/errno-error.js'
import { archiveLayerToFile } from './layer-archive.js'
import { addLayerFromTar, type Progress } from './add-layer.js'
import { decompressionBound } from './decompression-bound.js'
import { applyChanges } from './config-changes.js'
import { writeImage } from './write-image.js'
import { changeStore } from './collect-garbage.js'
import { parseReference } from './reference.js'
import type { ImageConfig } from '../oci/oci-types.js'

export interface ImportOptions {
  message?: string
  changes?: string[]
  stdin?: Readable
  progress?: Progress
}

export const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }

/** Writes the uncompressed layer tar for `source` to `out`. */
async function layerTar (source: string, out: string, stdin?: Readable): Promise<void> {
  if (source !== '-' && fs.statSync(source, { throwIfNoEntry: false })?.isDirectory()) {
    await archiveLayerToFile(source, out)
    return
  }
  let input: Readable
  if (source === '-') input = stdin ?? process.stdin
  else {
    if (!fs.existsSync(source)) throw errnoError('ENOENT', `no such file or directory: ${source}`)
    input = fs.createReadStream(source)
  }
  // Sniff the gzip magic rather than trusting the file name.
  const it = input[Symbol.asyncIterator]()
  const first = await it.next()
  const head: Buffer = first.done ? Buffer.alloc(0) : first.value as Buffer
  const rest = Readable.from((async function * () {
    if (head.length) yield head
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer
  })())
  const gz = head[0] === 0x1f && head[1] === 0x8b
  // A gzip bomb (or a stream without end on stdin) stops at the free space, as ENOSPC.
  const bound = decompressionBound(path.dirname(out), source)
  let size = 0
  const counted = new Transform({
    transform (chunk: Buffer, _enc, cb) {
      size += chunk.length
      try { bound(size) } catch (err) { cb(err as Error); return }
      cb(null, chunk)
    },
  })
  try {
    await pipeline(rest, gz ? zlib.createGunzip() : new PassThrough(), counted, fs.createWriteStream(out, { flags: 'wx' }))
  } catch (err) {
    if ((err as { code?: string }).code === 'Z_DATA_ERROR' || (err as { code?: string }).code === 'Z_BUF_ERROR') {
      throw errnoError('EBADMSG', `${source}: corrupt or truncated gzip data`)
    }
    throw err
  }
}

export async function importImage (store: Store, source: string, name: string | undefined, opts: ImportOptions = {}): Promise<{ id: string, manifest: string }> {
  const ref = name ? parseReference(name).name : undefined
  const tar = tempName(path.join(store.tmp, 'import.tar'))
  try {
    await layerTar(source, tar, opts.stdin)
    return await changeStore(store, async () => {
      const layer = await addLayerFromTar(store, tar, opts.progress)
      const created = new Date().toISOString()
      const config: ImageConfig = {
        created,
        architecture: ARCH[process.arch] ?? process.arch,
        os: 'linux',
        config: applyChanges({}, opts.changes ?? []),
        rootfs: { type: 'layers', diff_ids: [layer.diffID] },
        history: [{ created, created_by: `strata image import ${source === '-' ? '-' : path.basename(source)}`, ...(opts.message ? { comment: opts.message } : {}) }],
      }
      const { manifest, configDigest } = writeImage(store, config, [layer.descriptor], ref)
      return { id: configDigest, manifest: manifest.digest }
    })
  } finally {
    fs.rmSync(tar, { force: true })
  }
}
