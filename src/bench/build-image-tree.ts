// The rootfs the registry bench imports as its test image: `smallFiles`
// files of 1–16 KiB (words from a small vocabulary mixed with random bytes,
// so they compress a few times, like text and binaries do) in 50 dirs, plus
// four incompressible files totalling `mib` MiB. Deterministic: the same
// arguments give byte-identical trees (seeded PRNG; the big files are an
// AES-CTR keystream under a fixed key, fast and seed-stable).

import { createCipheriv } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { prng } from './prng.js'

export interface ImageTree {
  files: number;
  /** sum of file sizes */
  bytes: number;
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'layer image blob digest manifest registry overlay mount store config tar gzip push pull whiteout upper lower'
).split(' ')

const BIG_FILES = 4
const CHUNK = 1 << 20

export async function buildImageTree (dir: string, smallFiles: number, mib: number, signal?: AbortSignal): Promise<ImageTree> {
  const rng = prng(0x5eed)
  let bytes = 0
  const dirs = 50
  for (let d = 0; d < dirs; d++) await mkdir(join(dir, 'usr', 'share', `d${String(d).padStart(2, '0')}`), { recursive: true })
  for (let i = 0; i < smallFiles; i++) {
    signal?.throwIfAborted()
    const size = rng.int(1024, 16 * 1024)
    const buf = Buffer.alloc(size)
    let off = 0
    while (off < size) {
      if (rng.next() < 0.8) {
        off += buf.write(WORDS[rng.int(0, WORDS.length - 1)] + (rng.next() < 0.1 ? '\n' : ' '), off)
      } else {
        const n = Math.min(rng.int(1, 12), size - off)
        for (let k = 0; k < n; k++) buf[off + k] = rng.int(0, 255)
        off += n
      }
    }
    const name = join(dir, 'usr', 'share', `d${String(i % dirs).padStart(2, '0')}`, `f${i}.dat`)
    await writeFile(name, buf)
    bytes += size
  }
  await mkdir(join(dir, 'opt', 'big'), { recursive: true })
  const total = mib * CHUNK
  for (let b = 0; b < BIG_FILES; b++) {
    const size = Math.floor(total / BIG_FILES) + (b === BIG_FILES - 1 ? total % BIG_FILES : 0)
    const key = Buffer.alloc(32, b + 1)
    const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16, 0))
    const zeros = Buffer.alloc(CHUNK)
    // eslint-disable-next-line @typescript-eslint/require-await -- an async generator is the AsyncIterable its consumer takes
    async function * chunks (): AsyncGenerator<Buffer> {
      for (let left = size; left > 0; left -= CHUNK) {
        signal?.throwIfAborted()
        yield cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left))
      }
    }
    await pipeline(chunks(), createWriteStream(join(dir, 'opt', 'big', `blob${b}.bin`)))
    bytes += size
  }
  return { files: smallFiles + BIG_FILES, bytes }
}
