// Writes an eStargz blob from an uncompressed layer tar. Entries are re-encoded
// with the project's tar codec (binary xattrs and non-UTF-8 names survive);
// each regular file's data starts a new gzip member per chunk (chunkSize,
// 4 MiB by default), headers share the member of the data before them, and
// the TOC (stargz.index.json, with chunk and file digests) is the last tar
// entry, in its own member, followed by the footer. The uncompressed stream
// is an ordinary tar, so its sha256 is the layer's new DiffID; landmark first
// (.no.prefetch.landmark), or after the prioritized files (.prefetch.landmark).
// The output file is written from the start; the caller owns it (a temp file).
import fs from 'node:fs'
import crypto from 'node:crypto'
import zlib from 'node:zlib'
import { promisify } from 'node:util'
import { readTar } from './tar-reader.js'
import { encodeHeader, emptyHeader, padding, BLOCK, type TarHeader } from './tar-header.js'
import { errnoError } from '../base/errno-error.js'
import {
  DEFAULT_CHUNK_SIZE, LANDMARK_CONTENT, NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK, TOC_NAME,
  cleanTocName, encodeFooter, formatModtime, type Toc, type TocEntry, type TocType,
} from '../oci/estargz.js'

const gzip = promisify(zlib.gzip)

export interface EstargzOptions {
  chunkSize?: number
  /** Files (clean paths) to put before the landmark, in this order, for prefetch. */
  prioritized?: string[]
}

export interface EstargzResult {
  /** sha256 of the blob. */
  digest: string
  size: number
  /** sha256 of the uncompressed tar. */
  diffID: string
  uncompressedSize: number
  /** sha256 of the TOC JSON (the toc.digest annotation). */
  tocDigest: string
}

const TYPE: Record<TarHeader['type'], TocType> = { file: 'reg', link: 'hardlink', symlink: 'symlink', dir: 'dir', char: 'char', block: 'block', fifo: 'fifo' }

/** latin1 raw bytes → the UTF-8 text JSON needs (as Go would see the bytes). */
const text = (raw: string): string => Buffer.from(raw, 'latin1').toString('utf8')

class MemberWriter {
  offset = 0
  uncompressed = 0
  private pending: Buffer[] = []
  private readonly diff = crypto.createHash('sha256')
  private readonly blob = crypto.createHash('sha256')

  constructor (private readonly fd: number) {}

  add (b: Buffer): void {
    if (b.length === 0) return
    this.pending.push(b)
    this.diff.update(b)
    this.uncompressed += b.length
  }

  /** Ends the current gzip member, if it holds anything. */
  async close (): Promise<void> {
    if (this.pending.length === 0) return
    const data = Buffer.concat(this.pending)
    this.pending = []
    // Small members compress inline: the thread pool's round trip costs more.
    this.raw(data.length < 65536 ? zlib.gzipSync(data) : await gzip(data))
  }

  raw (b: Buffer): void {
    let off = 0
    while (off < b.length) off += fs.writeSync(this.fd, b, off, b.length - off, this.offset + off)
    this.blob.update(b)
    this.offset += b.length
  }

  digests (): { diffID: string, digest: string } {
    return { diffID: 'sha256:' + this.diff.digest('hex'), digest: 'sha256:' + this.blob.digest('hex') }
  }
}

/** Exactly `n` bytes off an async byte stream (fewer only at its end). */
async function take (it: AsyncIterator<Buffer>, carry: { buf: Buffer }, n: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let have = 0
  if (carry.buf.length) {
    const k = Math.min(n, carry.buf.length)
    parts.push(carry.buf.subarray(0, k))
    carry.buf = carry.buf.subarray(k)
    have = k
  }
  while (have < n) {
    const r = await it.next()
    if (r.done) break
    const need = n - have
    if (r.value.length > need) {
      parts.push(r.value.subarray(0, need))
      carry.buf = Buffer.from(r.value.subarray(need))
      have = n
    } else {
      parts.push(r.value)
      have += r.value.length
    }
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts)
}

function tocEntry (h: TarHeader): TocEntry {
  const e: TocEntry = { name: text(cleanTocName(h.name)), type: TYPE[h.type] }
  if (h.type === 'file') e.size = h.size
  const mt = formatModtime(h.mtimeSec)
  if (mt) e.modtime = mt
  if (h.type === 'link' || h.type === 'symlink') e.linkName = text(h.type === 'link' ? cleanTocName(h.linkname) : h.linkname)
  if (h.mode) e.mode = h.mode
  if (h.uid) e.uid = h.uid
  if (h.gid) e.gid = h.gid
  if (h.type === 'char' || h.type === 'block') {
    if (h.devmajor) e.devMajor = h.devmajor
    if (h.devminor) e.devMinor = h.devminor
  }
  if (h.xattrs.size) e.xattrs = Object.fromEntries([...h.xattrs].map(([k, v]) => [text(k), v.toString('base64')]))
  return e
}

/** `input` opens the layer's uncompressed tar; it is read twice when files are prioritized. */
export async function writeEstargz (input: () => AsyncIterable<Buffer>, outFile: string, o: EstargzOptions = {}): Promise<EstargzResult> {
  const chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw errnoError('EINVAL', `chunk size ${chunkSize}`)
  const prioritized = o.prioritized ?? []
  const fd = fs.openSync(outFile, 'w', 0o644)
  try {
    const w = new MemberWriter(fd)
    const entries: TocEntry[] = []

    const addFile = async (h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> => {
      const e = tocEntry(h)
      w.add(encodeHeader(h))
      if (h.type !== 'file') {
        entries.push(e)
        return
      }
      if (h.size === 0) {
        e.digest = 'sha256:' + crypto.createHash('sha256').digest('hex')
        entries.push(e)
        return
      }
      const whole = crypto.createHash('sha256')
      const it = body[Symbol.asyncIterator]()
      const carry = { buf: Buffer.alloc(0) }
      let ent = e
      for (let done = 0; done < h.size;) {
        const n = Math.min(chunkSize, h.size - done)
        await w.close()
        ent.offset = w.offset
        ent.chunkOffset = done || undefined
        if (n === chunkSize && done + n < h.size) ent.chunkSize = n
        const data = await take(it, carry, n)
        if (data.length !== n) throw errnoError('EIO', `truncated tar: ${h.name} ends after ${done + data.length} of ${h.size} bytes`)
        whole.update(data)
        ent.chunkDigest = 'sha256:' + crypto.createHash('sha256').update(data).digest('hex')
        w.add(data)
        entries.push(ent)
        done += n
        if (done < h.size) {
          ent = { name: e.name, type: 'chunk' }
        }
      }
      // A chunked file's last chunk says its size explicitly, so that a
      // reader needs no "to the end" rule.
      if (ent !== e && ent.chunkSize === undefined) ent.chunkSize = h.size - (ent.chunkOffset ?? 0)
      e.digest = 'sha256:' + whole.digest('hex')
      w.add(Buffer.alloc(padding(h.size)))
    }

    const landmark = async (name: string): Promise<void> => {
      const h = { ...emptyHeader(name, 'file'), size: 1 }
      // eslint-disable-next-line @typescript-eslint/require-await -- addFile takes an AsyncIterable
      await addFile(h, (async function * () { yield Buffer.from([LANDMARK_CONTENT]) })())
    }

    // Prioritized files come first: a first pass over the tar keeps just
    // them (the few files a container opens at start), the second writes
    // everything else in the tar's order (a hard link follows its target).
    const want = new Set(prioritized.map(cleanTocName))
    const held = new Map<string, { index: number, h: TarHeader, data: Buffer[] }>()
    const skip = (name: string): boolean => name === TOC_NAME || name === PREFETCH_LANDMARK || name === NO_PREFETCH_LANDMARK
    if (want.size) {
      let index = 0
      for await (const { header, body } of readTar(input())) {
        const name = cleanTocName(header.name)
        if (want.has(name) && header.type === 'file' && !skip(name)) {
          const data: Buffer[] = []
          for await (const c of body) data.push(Buffer.from(c))
          held.set(name, { index, h: header, data }) // the last of a name wins, as on extraction
        }
        index++
      }
      for (const n of want) {
        const e = held.get(n)
        // eslint-disable-next-line @typescript-eslint/require-await -- addFile takes an AsyncIterable
        if (e) await addFile(e.h, (async function * () { yield * e.data })())
      }
      await landmark(PREFETCH_LANDMARK)
    } else {
      await landmark(NO_PREFETCH_LANDMARK)
    }
    const heldAt = new Set([...held.values()].map((e) => e.index))
    let index = 0
    for await (const { header, body } of readTar(input())) {
      // Converted twice: the old TOC and landmark go (readTar skips an unread body).
      if (heldAt.has(index++) || skip(cleanTocName(header.name))) continue
      await addFile(header, body)
    }
    await w.close()

    const tocOffset = w.offset
    const toc: Toc = { version: 1, entries }
    const json = Buffer.from(JSON.stringify(toc, null, '\t'))
    const th: TarHeader = { ...emptyHeader(TOC_NAME, 'file'), size: json.length }
    w.add(encodeHeader(th))
    w.add(json)
    w.add(Buffer.alloc(padding(json.length) + 2 * BLOCK))
    await w.close()
    w.raw(encodeFooter(tocOffset))
    fs.fsyncSync(fd)
    const d = w.digests()
    return { digest: d.digest, size: w.offset, diffID: d.diffID, uncompressedSize: w.uncompressed, tocDigest: 'sha256:' + crypto.createHash('sha256').update(json).digest('hex') }
  } finally {
    fs.closeSync(fd)
  }
}
