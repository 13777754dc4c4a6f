// Tar headers, read and written by hand: ustar blocks plus PAX extended
// records (and GNU long names when reading). The npm tar libraries decode
// PAX values as UTF-8 text, which corrupts binary xattr values
// (security.capability) and non-UTF-8 names; image layers need both byte for
// byte, so names, link targets and values here are latin1 strings/Buffers
// that carry raw bytes.
import { errnoError } from '../base/errno-error.js'
import type { SparseInfo } from './tar-sparse.js'

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo'

export interface TarHeader {
  /** Path inside the archive, raw bytes as latin1. */
  name: string
  type: TarType
  mode: number
  uid: number
  gid: number
  size: number
  mtimeSec: number
  mtimeNsec: number
  /** Hard link or symlink target, raw bytes as latin1. */
  linkname: string
  devmajor: number
  devminor: number
  /** xattrs (SCHILY.xattr.* records). */
  xattrs: Map<string, Buffer>
  /** A sparse file: `size` is then the bytes of data the entry carries, the map says where they go. */
  sparse?: SparseInfo
}

export const BLOCK = 512

const TYPE_FLAGS: Record<string, TarType> = {
  0: 'file', '\0': 'file', 7: 'file', S: 'file', 1: 'link', 2: 'symlink', 3: 'char', 4: 'block', 5: 'dir', 6: 'fifo',
}
const FLAG_OF: Record<TarType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' }

export function emptyHeader (name: string, type: TarType): TarHeader {
  return { name, type, mode: 0o644, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0, linkname: '', devmajor: 0, devminor: 0, xattrs: new Map() }
}

function readString (b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off)
  return b.toString('latin1', off, end < 0 || end > off + len ? off + len : end)
}

/** A numeric header field: octal, or GNU base-256 when its first byte's high bit is set. */
export function readNumber (b: Buffer, off: number, len: number, what: string): number {
  if (b[off] & 0x80) {
    // GNU base-256: big-endian, first byte's high bit set.
    let v = b[off] & 0x7f
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]
    return v
  }
  const s = b.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').trim()
  if (s === '') return 0
  if (!/^[0-7]+$/.test(s)) throw errnoError('EINVAL', `malformed tar header: ${what} field "${s}"`)
  return parseInt(s, 8)
}

export function checksumOf (b: Buffer): number {
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : b[i]
  return sum
}

export interface RawHeader {
  flag: string
  header: TarHeader
}

/** Decodes one 512-byte header block; null for an all-zero (end) block. */
export function decodeBlock (b: Buffer): RawHeader | null {
  if (b.every((x) => x === 0)) return null
  const sum = readNumber(b, 148, 8, 'checksum')
  if (sum !== checksumOf(b)) throw errnoError('EINVAL', 'malformed tar: header checksum mismatch (not a tar, or corrupt)')
  const flag = String.fromCharCode(b[156])
  let name = readString(b, 0, 100)
  const magic = b.toString('latin1', 257, 263)
  if (magic === 'ustar\0' || magic.startsWith('ustar')) {
    const prefix = readString(b, 345, 155)
    if (prefix && magic === 'ustar\0') name = `${prefix}/${name}`
  }
  const h: TarHeader = {
    name,
    type: TYPE_FLAGS[flag] ?? 'file',
    mode: readNumber(b, 100, 8, 'mode') & 0o7777,
    uid: readNumber(b, 108, 8, 'uid'),
    gid: readNumber(b, 116, 8, 'gid'),
    size: readNumber(b, 124, 12, 'size'),
    mtimeSec: readNumber(b, 136, 12, 'mtime'),
    mtimeNsec: 0,
    linkname: readString(b, 157, 100),
    devmajor: readNumber(b, 329, 8, 'devmajor'),
    devminor: readNumber(b, 337, 8, 'devminor'),
    xattrs: new Map(),
  }
  return { flag, header: h }
}

/** PAX records: "<len> <key>=<value>\n", values as raw bytes. */
export function decodePax (buf: Buffer): Map<string, Buffer> {
  return new Map(decodePaxList(buf))
}

/** PAX records in their order, repeats kept (sparse 0.0 repeats its keys). */
export function decodePaxList (buf: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = []
  let off = 0
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off)
    const len = sp < 0 ? NaN : Number(buf.toString('latin1', off, sp))
    if (!Number.isInteger(len) || len <= 0 || off + len > buf.length || buf[off + len - 1] !== 0x0a) {
      if (buf.subarray(off).every((x) => x === 0)) break
      throw errnoError('EINVAL', 'malformed tar: bad PAX record')
    }
    const rec = buf.subarray(sp + 1, off + len - 1)
    const eq = rec.indexOf(0x3d)
    if (eq < 0) throw errnoError('EINVAL', 'malformed tar: PAX record without "="')
    out.push([rec.toString('latin1', 0, eq), Buffer.from(rec.subarray(eq + 1))])
    off += len
  }
  return out
}

/** Applies PAX records (path, linkpath, size, uid, gid, mtime, xattrs) to a header. */
export function applyPax (h: TarHeader, pax: Map<string, Buffer>): void {
  for (const [k, v] of pax) {
    const s = v.toString('latin1')
    if (k === 'path') h.name = s
    else if (k === 'linkpath') h.linkname = s
    else if (k === 'size') h.size = Number(s)
    else if (k === 'uid') h.uid = Number(s)
    else if (k === 'gid') h.gid = Number(s)
    else if (k === 'mtime') {
      const m = /^(-?\d+)(?:\.(\d{1,9})\d*)?$/.exec(s)
      if (!m) throw errnoError('EINVAL', `malformed tar: PAX mtime "${s}"`)
      h.mtimeSec = Number(m[1])
      h.mtimeNsec = m[2] ? Number(m[2].padEnd(9, '0')) : 0
    } else if (k.startsWith('SCHILY.xattr.')) h.xattrs.set(k.slice('SCHILY.xattr.'.length), v)
  }
  if (!Number.isSafeInteger(h.size) || h.size < 0) throw errnoError('EINVAL', `malformed tar: size of ${h.name}`)
}

function writeString (b: Buffer, off: number, len: number, s: string): boolean {
  const bytes = Buffer.from(s, 'latin1')
  if (bytes.length > len) return false
  bytes.copy(b, off)
  return true
}

function writeOctal (b: Buffer, off: number, len: number, v: number): boolean {
  const s = v.toString(8)
  if (s.length > len - 1) return false
  b.write(s.padStart(len - 1, '0') + '\0', off, 'latin1')
  return true
}

function paxRecord (key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'latin1'), value, Buffer.from('\n')])
  let len = body.length + 1
  while (String(len).length + body.length !== len) len = String(len).length + body.length
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body])
}

function block (name: string, flag: string, h: TarHeader, size: number): { buf: Buffer, fits: boolean } {
  const b = Buffer.alloc(BLOCK)
  let fits = true
  let nm = name
  let prefix = ''
  if (Buffer.byteLength(nm, 'latin1') > 100) {
    // Split at a '/' so that prefix (155) and name (100) both fit.
    const i = nm.lastIndexOf('/', 155)
    if (i > 0 && nm.length - i - 1 <= 100 && nm.length - i - 1 > 0) {
      prefix = nm.slice(0, i)
      nm = nm.slice(i + 1)
    } else {
      fits = false
      nm = nm.slice(0, 100)
    }
  }
  writeString(b, 0, 100, nm)
  writeString(b, 345, 155, prefix)
  fits = writeOctal(b, 100, 8, h.mode & 0o7777) && fits
  fits = writeOctal(b, 108, 8, h.uid) && fits
  fits = writeOctal(b, 116, 8, h.gid) && fits
  fits = writeOctal(b, 124, 12, size) && fits
  fits = writeOctal(b, 136, 12, Math.max(0, h.mtimeSec)) && fits
  b.write(flag, 156, 'latin1')
  if (!writeString(b, 157, 100, h.linkname)) fits = false
  b.write('ustar\0', 257, 'latin1')
  b.write('00', 263, 'latin1')
  writeOctal(b, 329, 8, h.devmajor)
  writeOctal(b, 337, 8, h.devminor)
  return { buf: b, fits }
}

function seal (b: Buffer): Buffer {
  b.write(checksumOf(b).toString(8).padStart(6, '0') + '\0 ', 148, 'latin1')
  return b
}

/**
 * Encodes a header (with a PAX header before it when ustar cannot carry
 * everything: long names, big numbers, nanoseconds, xattrs). Deterministic:
 * the same header always gives the same bytes.
 */
export function encodeHeader (h: TarHeader): Buffer {
  const size = h.type === 'file' ? h.size : 0
  const main = block(h.name, FLAG_OF[h.type], h, size)
  const pax: Buffer[] = []
  if (!main.fits) {
    if (Buffer.byteLength(h.name, 'latin1') > 100) pax.push(paxRecord('path', Buffer.from(h.name, 'latin1')))
    if (Buffer.byteLength(h.linkname, 'latin1') > 100) pax.push(paxRecord('linkpath', Buffer.from(h.linkname, 'latin1')))
    if (size > 0o77777777777) pax.push(paxRecord('size', Buffer.from(String(size))))
    if (h.uid > 0o7777777) pax.push(paxRecord('uid', Buffer.from(String(h.uid))))
    if (h.gid > 0o7777777) pax.push(paxRecord('gid', Buffer.from(String(h.gid))))
  }
  if (h.mtimeNsec) pax.push(paxRecord('mtime', Buffer.from(`${h.mtimeSec}.${String(h.mtimeNsec).padStart(9, '0')}`)))
  for (const [k, v] of [...h.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) pax.push(paxRecord(`SCHILY.xattr.${k}`, v))
  const out: Buffer[] = []
  if (pax.length) {
    const body = Buffer.concat(pax)
    const ph = block(`PaxHeaders/${h.name}`.slice(0, 100), 'x', emptyHeader('', 'file'), body.length)
    out.push(seal(ph.buf), body, Buffer.alloc(padding(body.length)))
  }
  out.push(seal(main.buf))
  return Buffer.concat(out)
}

export const padding = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK
