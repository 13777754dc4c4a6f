// `strata build -`: the context comes on stdin, as docker takes it — a tar
// (plain, gzip, bzip2 or xz) that is the context, Dockerfile included, or
// else a Dockerfile alone with an empty context. stdin is spooled to a file
// (a context can be big; memory stays flat), then the tar is unpacked into a
// temp dir in the store (layer-extract.ts's path safety) that the caller
// removes with remove().
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { ownedPrefix } from '../store/stale-temp.js'
import type { Store } from '../store/store.js'
import { extractLayer } from '../image/layer-extract.js'
import { compressionOf, decompress, fileHead, isTarHeader } from './decompress.js'

export interface StdinContext {
  dir: string
  /** Set when stdin was a Dockerfile, not a tar. */
  dockerfileText?: string
  remove: () => void
}

export async function stdinContext (store: Store, input: NodeJS.ReadableStream): Promise<StdinContext> {
  const top = fs.mkdtempSync(ownedPrefix(store.tmp, 'build-stdin-'))
  const remove = (): void => { fs.rmSync(top, { recursive: true, force: true }) }
  try {
    const spool = path.join(top, 'stdin')
    const dir = path.join(top, 'context')
    fs.mkdirSync(dir)
    await pipeline(input, fs.createWriteStream(spool))
    const head = fileHead(spool)
    const kind = compressionOf(head)
    if (kind === 'none' && !isTarHeader(head)) return { dir, dockerfileText: fs.readFileSync(spool, 'utf8'), remove }
    await extractLayer(decompress(fs.createReadStream(spool), kind, 'the build context on stdin'), dir)
    fs.rmSync(spool)
    return { dir, remove }
  } catch (err) {
    remove()
    throw err
  }
}
