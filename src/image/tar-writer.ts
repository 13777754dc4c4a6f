// Streaming tar writer into a Writable, honouring backpressure. Entries are
// written exactly as given; determinism is the caller's ordering plus
// encodeHeader's fixed layout.
import type { Writable } from 'node:stream'
import { once } from 'node:events'
import { encodeHeader, padding, BLOCK, type TarHeader } from './tar-header.js'
import { errnoError } from '../base/errno-error.js'

export class TarWriter {
  constructor (private readonly out: Writable) {}

  private async push (b: Buffer): Promise<void> {
    if (!this.out.write(b)) await once(this.out, 'drain')
  }

  /** Adds an entry; a file's body must yield exactly header.size bytes. */
  async add (h: TarHeader, body?: AsyncIterable<Buffer> | Buffer): Promise<void> {
    await this.push(encodeHeader(h))
    if (h.type !== 'file' || h.size === 0) return
    let n = 0
    const chunks = Buffer.isBuffer(body) ? [body] : body ?? []
    for await (const c of chunks) {
      n += c.length
      if (n > h.size) throw errnoError('EIO', `${h.name} grew while being archived`)
      await this.push(c)
    }
    if (n !== h.size) throw errnoError('EIO', `${h.name} shrank while being archived (${n} of ${h.size} bytes)`)
    const pad = padding(n)
    if (pad) await this.push(Buffer.alloc(pad))
  }

  /** Writes the two zero blocks that end an archive. */
  async finish (): Promise<void> {
    await this.push(Buffer.alloc(BLOCK * 2))
  }
}
