// Random 4 KiB preads over one file. Run by the bench as its own process (never
// inside the bench process), so a mount under test is only ever touched by a
// child, and the whole process is what gets timed, like every other operation.
//   node dist/bench/rand-read.js FILE COUNT SEED

import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { prng } from './prng.js'

const BLOCK = 4096

/** Reads `count` seeded-random, block-aligned 4 KiB blocks; returns bytes read. */
export function randRead (path: string, count: number, seed: number): number {
  const rng = prng(seed)
  const buf = Buffer.alloc(BLOCK)
  const fd = openSync(path, 'r')
  try {
    const blocks = Math.max(1, Math.floor(fstatSync(fd).size / BLOCK))
    let total = 0
    for (let i = 0; i < count; i++) {
      total += readSync(fd, buf, 0, BLOCK, Math.floor(rng.next() * blocks) * BLOCK)
    }
    return total
  } finally {
    closeSync(fd)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [path, count, seed] = process.argv.slice(2)
  if (!path || !count || !seed) {
    process.stderr.write('usage: rand-read FILE COUNT SEED\n')
    process.exitCode = 2
  } else {
    const want = Number(count) * BLOCK
    const got = randRead(path, Number(count), Number(seed))
    // Short reads mean the file is smaller than it should be: fail loudly.
    if (got !== want) {
      process.stderr.write(`rand-read: read ${got} bytes, expected ${want}\n`)
      process.exitCode = 1
    }
  }
}
