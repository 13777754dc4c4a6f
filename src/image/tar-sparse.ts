// Sparse tar entries, as GNU tar writes them: the old GNU form (type 'S',
// the map in the header and in extension blocks) and the PAX forms 0.0
// (repeated GNU.sparse.offset/numbytes records), 0.1 (GNU.sparse.map) and
// 1.0 (the map as decimal lines at the start of the entry's data). The
// entry's data holds only the map's regions, back to back; everything else
// of the file (realSize bytes) is a hole. A map is checked before anything
// is written: regions in order, not overlapping, inside the file, and their
// lengths adding up to the data — a bad map is refused naming the entry,
// never written wrong.
import { errnoError } from '../base/errno-error.js'
import { readNumber } from './tar-header.js'

export interface SparseInfo {
  /** [offset, length] regions of real data, in order. */
  map: Array<[number, number]>
  /** The file's size, holes included. */
  realSize: number
}

/** Regions a map may have: bounds the memory a hostile map can take. */
export const MAX_REGIONS = 1 << 20

function readPairs (b: Buffer, off: number, n: number, map: Array<[number, number]>): void {
  for (let i = 0; i < n; i++) {
    const o = off + i * 24
    if (b[o] === 0) break
    map.push([readNumber(b, o, 12, 'sparse offset'), readNumber(b, o + 12, 12, 'sparse numbytes')])
  }
}

/** The old GNU header's part of the map; `extended` when extension blocks follow. */
export function gnuHeaderSparse (b: Buffer): { info: SparseInfo, extended: boolean } {
  const map: Array<[number, number]> = []
  readPairs(b, 386, 4, map)
  return { info: { map, realSize: readNumber(b, 483, 12, 'sparse realsize') }, extended: b[482] !== 0 }
}

/** One old GNU extension block: 21 more regions; whether another block follows. */
export function gnuExtensionSparse (b: Buffer, info: SparseInfo): boolean {
  readPairs(b, 0, 21, info.map)
  if (info.map.length > MAX_REGIONS) throw errnoError('EFBIG', `malformed tar: a sparse map of more than ${MAX_REGIONS} regions`)
  return b[504] !== 0
}

const num = (v: Buffer | undefined, what: string): number => {
  const s = v?.toString('latin1') ?? ''
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw errnoError('EINVAL', `malformed tar: PAX ${what} "${s}"`)
  return Number(s)
}

/**
 * The sparse form a PAX header announces, from its records in order (0.0
 * repeats keys, so a Map would lose them): the map (null for 1.0, whose map
 * is in the data), the real size, and the real name (0.1, 1.0).
 */
export function paxSparse (records: Array<[string, Buffer]>): { info: SparseInfo, inData: boolean, name?: string } | null {
  const get = (k: string): Buffer | undefined => {
    for (let i = records.length - 1; i >= 0; i--) if (records[i][0] === k) return records[i][1]
    return undefined
  }
  const major = get('GNU.sparse.major')
  const name = get('GNU.sparse.name')?.toString('latin1')
  if (major !== undefined) {
    if (num(major, 'GNU.sparse.major') !== 1 || num(get('GNU.sparse.minor'), 'GNU.sparse.minor') !== 0) {
      throw errnoError('ENOTSUP', `tar: sparse format ${major.toString('latin1')}.${get('GNU.sparse.minor')?.toString('latin1')} of "${name}" is not supported`)
    }
    return { info: { map: [], realSize: num(get('GNU.sparse.realsize'), 'GNU.sparse.realsize') }, inData: true, name }
  }
  const size = get('GNU.sparse.size')
  if (size === undefined) return null
  const realSize = num(size, 'GNU.sparse.size')
  const map: Array<[number, number]> = []
  const text = get('GNU.sparse.map')
  if (text !== undefined) {
    const parts = text.toString('latin1').split(',')
    if (parts.length % 2 !== 0 || parts.length / 2 > MAX_REGIONS) throw errnoError('EINVAL', `malformed tar: GNU.sparse.map of "${name}"`)
    for (let i = 0; i < parts.length; i += 2) map.push([num(Buffer.from(parts[i]), 'GNU.sparse.map'), num(Buffer.from(parts[i + 1]), 'GNU.sparse.map')])
  } else {
    let offset: number | null = null
    for (const [k, v] of records) {
      if (k === 'GNU.sparse.offset') offset = num(v, 'GNU.sparse.offset')
      else if (k === 'GNU.sparse.numbytes') {
        if (offset === null) throw errnoError('EINVAL', 'malformed tar: GNU.sparse.numbytes without an offset')
        map.push([offset, num(v, 'GNU.sparse.numbytes')])
        offset = null
      }
    }
    const n = get('GNU.sparse.numblocks')
    if (n !== undefined && num(n, 'GNU.sparse.numblocks') !== map.length) throw errnoError('EINVAL', `malformed tar: GNU.sparse.numblocks says ${n.toString('latin1')}, the records give ${map.length}`)
  }
  return { info: { map, realSize }, inData: false, name }
}

/**
 * Parses a 1.0 map from the start of the data ("count\noffset\nlength\n…",
 * padded to a block); returns null until `text` holds all of it, else the
 * regions and the bytes the map took (a multiple of 512).
 */
export function sparseMapInData (text: Buffer, what: string): { map: Array<[number, number]>, used: number } | null {
  const nums: number[] = []
  let start = 0
  let count = -1
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== 0x0a) continue
    const s = text.toString('latin1', start, i)
    if (!/^\d{1,20}$/.test(s) || !Number.isSafeInteger(Number(s))) throw errnoError('EINVAL', `malformed tar: sparse map of ${what}: "${s.slice(0, 40)}"`)
    start = i + 1
    if (count < 0) {
      count = Number(s)
      if (count > MAX_REGIONS) throw errnoError('EFBIG', `malformed tar: sparse map of ${what} has ${count} regions, more than ${MAX_REGIONS}`)
    } else nums.push(Number(s))
    if (count >= 0 && nums.length === 2 * count) {
      const map: Array<[number, number]> = []
      for (let j = 0; j < nums.length; j += 2) map.push([nums[j], nums[j + 1]])
      return { map, used: Math.ceil(start / 512) * 512 }
    }
  }
  if (text.length - start > 21) throw errnoError('EINVAL', `malformed tar: sparse map of ${what}`)
  return null
}

/** Refuses a map that does not describe `stored` bytes of data in a file of realSize. */
export function checkSparse (info: SparseInfo, stored: number, what: string): void {
  let end = 0
  let sum = 0
  if (!Number.isSafeInteger(info.realSize) || info.realSize < 0) throw errnoError('EINVAL', `tar: sparse file ${what}: bad real size`)
  for (const [off, len] of info.map) {
    if (off < end || off + len > info.realSize) throw errnoError('EINVAL', `tar: sparse file ${what}: region ${off}+${len} overlaps another or lies outside its ${info.realSize} bytes; refused`)
    end = off + len
    sum += len
  }
  if (sum !== stored) throw errnoError('EINVAL', `tar: sparse file ${what}: its map holds ${sum} bytes but the entry carries ${stored}; refused`)
}
