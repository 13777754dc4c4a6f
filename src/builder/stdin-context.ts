// `strata build -`: the context comes on stdin, as docker takes it — a tar
// (plain, gzip, bzip2 or xz) that is the context, Dockerfile included, or
// else a Dockerfile alone with an empty context. The tar is unpacked into a
// temp dir in the store (layer-extract.ts's path safety) that the caller
// removes with remove().
import fs from 'node:fs'
import { Readable } from 'node:stream'
import { ownedPrefix } from '../store/stale-temp.js'
import type { Store } from '../store/store.js'
import { extractLayer } from '../image/layer-extract.js'
import { compressionOf, decompress, isTarHeader } from './decompress.js'

export interface StdinContext {
  dir: string
  /** Set when stdin was a Dockerfile, not a tar. */
  dockerfileText?: string
  remove: () => void
}

export async function stdinContext (store: Store, input: AsyncIterable<Buffer>): Promise<StdinContext> {
  const chunks: Buffer[] = []
  for await (const c of input) chunks.push(c)
  const data = Buffer.concat(chunks)
  const dir = fs.mkdtempSync(ownedPrefix(store.tmp, 'build-stdin-'))
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true })
  try {
    const kind = compressionOf(data)
    if (kind === 'none' && !isTarHeader(data)) return { dir, dockerfileText: data.toString('utf8'), remove }
    await extractLayer(decompress(Readable.from([data]), kind, 'the build context on stdin'), dir)
    return { dir, remove }
  } catch (err) {
    remove()
    throw err
  }
}
