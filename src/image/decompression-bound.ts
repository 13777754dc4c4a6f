// The bound on what decompressing an untrusted layer may write: the free
// space of the filesystem it is written to (less a reserve, so the store
// stays usable), or STRATA_MAX_LAYER_BYTES when that is set and smaller. A
// gzip bomb is stopped when it reaches the bound, with ENOSPC named as such,
// before the disk is full. Docker and containerd bound nothing here; a layer
// that does not fit in the free space could never be extracted anyway.
import fs from 'node:fs'
import { errnoError } from '../base/errno-error.js'

/** Kept free on the store's filesystem: 64 MiB or 1 %, the larger. */
function reserve (total: number): number {
  return Math.max(64 << 20, Math.floor(total / 100))
}

/** Bytes an untrusted decompression into `dir` may produce. */
export function freeBytes (dir: string): number {
  const s = fs.statfsSync(dir)
  const free = s.bavail * s.bsize - reserve(s.blocks * s.bsize)
  const cap = Number(process.env.STRATA_MAX_LAYER_BYTES)
  return Math.max(0, Number.isSafeInteger(cap) && cap > 0 ? Math.min(cap, free) : free)
}

/** Refuses early a layer whose size is claimed and does not fit. */
export function checkFits (dir: string, claimed: number, what: string): void {
  const limit = freeBytes(dir)
  if (claimed > limit) throw errnoError('ENOSPC', `${what}: its ${claimed} bytes do not fit in the ${limit} bytes the store may still use; nothing was stored`)
}

/** A check to call with the running total of decompressed bytes. */
export function decompressionBound (dir: string, what: string): (total: number) => void {
  const limit = freeBytes(dir)
  return (total) => {
    if (total > limit) throw errnoError('ENOSPC', `${what}: decompressed to more than the ${limit} bytes the store may still use (a compression bomb, or the disk is too full); nothing was stored`)
  }
}
