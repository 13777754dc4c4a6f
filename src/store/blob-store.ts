// Content-addressed blobs in an OCI image layout (oci-layout,
// blobs/sha256/<hex>). Contract of every method:
// - put* is idempotent and atomic: the blob is hashed while written to a
//   temp file, fsynced, and renamed into place only when its digest is known
//   (and equals the expected one, if given); a half blob is never visible.
// - get* never returns a blob whose name is not a valid sha256 digest.
// - verify() re-hashes a stored blob.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { Transform, type Readable } from 'node:stream'
import { errnoError } from '../base/errno-error.js'
import { fsyncDir, tempName, writeFileAtomic } from '../base/atomic-file.js'
import { killPoint } from '../base/kill-point.js'
import { staleTemp } from './stale-temp.js'

const DIGEST = /^sha256:[0-9a-f]{64}$/

export interface Blob {
  digest: string
  size: number
}

export function checkDigest (digest: string): string {
  if (!DIGEST.test(digest)) throw errnoError('EINVAL', `not a sha256 digest: "${digest}"`)
  return digest
}

export class BlobStore {
  readonly dir: string

  constructor (readonly root: string) {
    this.dir = path.join(root, 'blobs', 'sha256')
    fs.mkdirSync(this.dir, { recursive: true })
    const layout = path.join(root, 'oci-layout')
    if (!fs.existsSync(layout)) writeFileAtomic(layout, JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  }

  path (digest: string): string {
    return path.join(this.dir, checkDigest(digest).slice(7))
  }

  has (digest: string): boolean {
    return fs.existsSync(this.path(digest))
  }

  /** Stores a stream; with `expected`, refuses (stores nothing) on a mismatch. */
  async putStream (input: Readable | AsyncIterable<Buffer>, expected?: string, what = 'blob'): Promise<Blob> {
    const hash = crypto.createHash('sha256')
    let size = 0
    const tmp = tempName(path.join(this.dir, 'incoming'))
    const out = fs.createWriteStream(tmp, { flags: 'wx', mode: 0o644 })
    try {
      await pipeline(input, new Transform({
        transform (chunk: Buffer, _enc, cb) {
          hash.update(chunk)
          size += chunk.length
          cb(null, chunk)
        },
      }), out)
      const digest = 'sha256:' + hash.digest('hex')
      if (expected && digest !== expected) throw errnoError('EBADMSG', `${what}: digest mismatch, expected ${expected}, got ${digest} (${size} bytes): corrupt or truncated`)
      const fd = fs.openSync(tmp, 'r')
      try { fs.fsyncSync(fd) } finally { fs.closeSync(fd) }
      killPoint('blob-written')
      fs.renameSync(tmp, this.path(digest))
      fsyncDir(this.dir)
      return { digest, size }
    } finally {
      fs.rmSync(tmp, { force: true })
    }
  }

  /**
   * Moves in a file the caller hashed as it wrote it (a verified download
   * staged on this filesystem), instead of copying and hashing it again.
   */
  adopt (file: string, digest: string): void {
    const dest = this.path(digest)
    if (fs.existsSync(dest)) { fs.rmSync(file, { force: true }); return }
    const fd = fs.openSync(file, 'r')
    try { fs.fsyncSync(fd) } finally { fs.closeSync(fd) }
    fs.chmodSync(file, 0o644)
    fs.renameSync(file, dest)
    fsyncDir(this.dir)
  }

  putBytes (data: Buffer | string): Blob {
    const buf = Buffer.from(data)
    const digest = 'sha256:' + crypto.createHash('sha256').update(buf).digest('hex')
    if (!this.has(digest)) writeFileAtomic(this.path(digest), buf)
    return { digest, size: buf.length }
  }

  read (digest: string): Buffer {
    try {
      return fs.readFileSync(this.path(digest))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw errnoError('ENOENT', `blob ${digest} is missing from the store`)
      throw err
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON document it expects
  readJson<T> (digest: string): T {
    return JSON.parse(this.read(digest).toString('utf8')) as T
  }

  stream (digest: string): fs.ReadStream {
    if (!this.has(digest)) throw errnoError('ENOENT', `blob ${digest} is missing from the store`)
    return fs.createReadStream(this.path(digest))
  }

  list (): string[] {
    return fs.readdirSync(this.dir).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => 'sha256:' + n)
  }

  size (digest: string): number {
    return fs.statSync(this.path(digest)).size
  }

  /** Re-hashes a blob: true when its content still matches its name. */
  async verify (digest: string): Promise<boolean> {
    const hash = crypto.createHash('sha256')
    await pipeline(this.stream(digest), hash)
    return 'sha256:' + hash.digest('hex') === digest
  }

  /**
   * Unlinking one file is atomic already (the name goes with its content),
   * so a blob needs no doomed rename: a crash leaves the blob or nothing.
   */
  remove (digest: string): void {
    fs.rmSync(this.path(digest), { force: true })
  }

  /** Temp files of commands that died (half-written blobs). */
  staleTemp (): string[] {
    return staleTemp(this.dir, (n) => n.startsWith('.tmp-'))
  }
}
