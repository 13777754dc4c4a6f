// Streaming tar reader: yields each entry's header and a body to read (or
// skip) before the next entry. PAX and GNU long-name headers are folded into
// the entry they describe, and so are sparse maps (tar-sparse.ts): a sparse
// entry comes with `header.sparse` and a body of just its data regions. A
// truncated or corrupt archive throws an errno error naming what was being
// read; it never yields a partial entry as whole.
import { BLOCK, applyPax, decodeBlock, decodePax, decodePaxList, padding, type TarHeader } from './tar-header.js'
import { checkSparse, gnuExtensionSparse, gnuHeaderSparse, paxSparse, sparseMapInData } from './tar-sparse.js'
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
  let paxList: Array<[string, Buffer]> = []
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
      if (flag === 'x') { paxList = decodePaxList(body); pax = new Map(paxList) } else if (flag === 'g') global = new Map([...global, ...decodePax(body)])
      else if (flag === 'L') longName = body.toString('latin1').replace(/\0+$/, '')
      else longLink = body.toString('latin1').replace(/\0+$/, '')
      continue
    }
    if (flag === 'S') {
      const gnu = gnuHeaderSparse(Buffer.from(b))
      header.sparse = gnu.info
      for (let more = gnu.extended; more;) {
        const ext = await src.read(BLOCK, `the sparse map of ${header.name}`)
        if (ext === null) throw errnoError('EIO', `truncated tar: the sparse map of ${header.name} is cut short`)
        more = gnuExtensionSparse(Buffer.from(ext), gnu.info)
      }
    }
    if (longName !== null) header.name = longName
    if (longLink !== null) header.linkname = longLink
    applyPax(header, new Map([...global, ...pax]))
    const paxSp = header.type === 'file' ? paxSparse(paxList) : null
    pax = new Map()
    paxList = []
    longName = longLink = null
    let size = header.type === 'file' ? header.size : 0
    if (paxSp) {
      if (paxSp.name !== undefined) header.name = paxSp.name
      header.sparse = paxSp.info
      if (paxSp.inData) {
        // 1.0: the map is the first blocks of the data.
        let text = Buffer.alloc(0)
        for (let m: ReturnType<typeof sparseMapInData> = null; m === null;) {
          if (text.length >= size) throw errnoError('EINVAL', `malformed tar: the sparse map of ${header.name} runs past its data`)
          const blk = await src.read(BLOCK, `the sparse map of ${header.name}`)
          if (blk === null) throw errnoError('EIO', `truncated tar: the sparse map of ${header.name} is cut short`)
          text = Buffer.concat([text, blk])
          m = sparseMapInData(text, `"${header.name}"`)
          if (m) { paxSp.info.map = m.map; size -= m.used }
        }
      }
    }
    if (header.sparse) {
      checkSparse(header.sparse, size, `"${header.name}"`)
      header.size = size
    }
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
