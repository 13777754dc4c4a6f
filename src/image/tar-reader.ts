// Streaming tar reader: yields each entry's header and a body to read (or
// skip) before the next entry. PAX and GNU long-name headers are folded into
// the entry they describe. A truncated or corrupt archive throws an errno
// error naming what was being read; it never yields a partial entry as whole.
import { BLOCK, applyPax, decodeBlock, decodePax, padding, type TarHeader } from './tar-header.js'
import { errnoError } from '../base/errno-error.js'

/** Exact-size reads over an async stream of Buffers. */
class ByteSource {
  private buf: Buffer = Buffer.alloc(0)
  private done = false

  constructor (private readonly it: AsyncIterator<Buffer>) {}

  private async fill (n: number): Promise<boolean> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next()
      if (r.done) this.done = true
      else this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : Buffer.from(r.value)
    }
    return this.buf.length >= n
  }

  /** Exactly n bytes, or null at a clean end (no bytes left at all). */
  async read (n: number, what: string): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.buf.length === 0) return null
      throw errnoError('EIO', `truncated tar: ${what} ends after ${this.buf.length} of ${n} bytes`)
    }
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(n)
    return out
  }

  /** Up to n bytes (at least one), for streaming bodies. */
  async chunk (n: number, what: string): Promise<Buffer> {
    if (this.buf.length === 0 && !(await this.fill(1))) throw errnoError('EIO', `truncated tar: ${what} is cut short`)
    const k = Math.min(n, this.buf.length)
    const out = this.buf.subarray(0, k)
    this.buf = this.buf.subarray(k)
    return out
  }
}

export interface TarEntry {
  header: TarHeader
  /** The entry's data; read it fully or not at all before the next entry. */
  body: AsyncIterable<Buffer>
}

export async function * readTar (input: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const src = new ByteSource(input[Symbol.asyncIterator]())
  let pax = new Map<string, Buffer>()
  let global = new Map<string, Buffer>()
  let longName: string | null = null
  let longLink: string | null = null
  for (;;) {
    const b = await src.read(BLOCK, 'a header')
    if (b === null) break
    const raw = decodeBlock(Buffer.from(b))
    if (raw === null) break // the end blocks
    const { flag, header } = raw
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      const data = await src.read(header.size + padding(header.size), `the extended header before ${header.name || 'an entry'}`)
      const body = Buffer.from((data ?? Buffer.alloc(0)).subarray(0, header.size))
      if (flag === 'x') pax = decodePax(body)
      else if (flag === 'g') global = new Map([...global, ...decodePax(body)])
      else if (flag === 'L') longName = body.toString('latin1').replace(/\0+$/, '')
      else longLink = body.toString('latin1').replace(/\0+$/, '')
      continue
    }
    if (longName !== null) header.name = longName
    if (longLink !== null) header.linkname = longLink
    applyPax(header, new Map([...global, ...pax]))
    pax = new Map()
    longName = longLink = null
    const size = header.type === 'file' ? header.size : 0
    let left = size
    const what = `the data of ${header.name}`
    const body: AsyncIterable<Buffer> = {
      async * [Symbol.asyncIterator] () {
        while (left > 0) {
          const c = await src.chunk(Math.min(left, 1 << 20), what)
          left -= c.length
          yield c
        }
      },
    }
    yield { header, body }
    while (left > 0) left -= (await src.chunk(Math.min(left, 1 << 20), what)).length
    if (size % BLOCK) await src.read(padding(size), what)
  }
}
