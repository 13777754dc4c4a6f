// The eStargz format (stargz-snapshotter docs/estargz.md), shared by the
// writer and the lazy reader: the TOC JSON's shape, the layer annotations,
// the landmark files and the 51-byte footer. Pure data and byte layouts; no
// I/O. A blob is a valid tar.gz whose every regular file's data (per chunk)
// starts a gzip member of its own, so one member can be fetched by HTTP
// Range and gunzipped alone; the TOC is the last tar entry, in its own
// member, and the footer (an empty gzip member) says where that member starts.
export const TOC_NAME = 'stargz.index.json'
export const TOC_DIGEST = 'containerd.io/snapshot/stargz/toc.digest'
export const ESTARGZ_UNCOMPRESSED_SIZE = 'io.containers.estargz.uncompressed-size'
export const PREFETCH_LANDMARK = '.prefetch.landmark'
export const NO_PREFETCH_LANDMARK = '.no.prefetch.landmark'
/** The one byte a landmark file holds. */
export const LANDMARK_CONTENT = 0xf
export const FOOTER_SIZE = 51
export const DEFAULT_CHUNK_SIZE = 4 << 20

export type TocType = 'dir' | 'reg' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'chunk'

/** One TOC entry; "chunk" entries carry only name, type, offset, chunkOffset, chunkSize, chunkDigest. */
export interface TocEntry {
  name: string
  type: TocType
  size?: number
  /** RFC 3339, UTC, whole seconds; absent for time 0. */
  modtime?: string
  linkName?: string
  /** Permission and mode bits as in the tar header (07777). */
  mode?: number
  uid?: number
  gid?: number
  userName?: string
  groupName?: string
  /** Where the gzip member holding this (chunk of the) file's data begins in the blob. */
  offset?: number
  devMajor?: number
  devMinor?: number
  /** Values base64, as Go's encoding/json writes []byte. */
  xattrs?: Record<string, string>
  /** sha256 of the whole file's content. */
  digest?: string
  chunkOffset?: number
  /** 0 or absent: to the end of the file. */
  chunkSize?: number
  chunkDigest?: string
}

export interface Toc {
  version: 1
  entries: TocEntry[]
}

/** The footer: an empty, stored gzip member whose extra field "SG" holds "%016xSTARGZ" (the TOC's offset). */
export function encodeFooter (tocOffset: number): Buffer {
  const b = Buffer.alloc(FOOTER_SIZE)
  b.set([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff], 0) // FLG = FEXTRA, OS unknown
  b.writeUInt16LE(26, 10)
  b.write('SG', 12, 'latin1')
  b.writeUInt16LE(22, 14)
  b.write(tocOffset.toString(16).padStart(16, '0') + 'STARGZ', 16, 'latin1')
  b.set([1, 0, 0, 0xff, 0xff], 38) // a final stored block of no bytes
  // CRC32 and ISIZE of nothing are zero, as alloc left them.
  return b
}

/** The TOC's offset from a footer; null when these 51 bytes are not an eStargz footer. */
export function parseFooter (b: Buffer): number | null {
  if (b.length !== FOOTER_SIZE || b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8 || !(b[3] & 4)) return null
  if (b.readUInt16LE(10) !== 26 || b.toString('latin1', 12, 14) !== 'SG' || b.readUInt16LE(14) !== 22) return null
  const s = b.toString('latin1', 16, 38)
  if (!/^[0-9a-f]{16}STARGZ$/.test(s)) return null
  const off = parseInt(s.slice(0, 16), 16)
  return Number.isSafeInteger(off) ? off : null
}

/** A TOC entry's name as a clean relative path ("./a/b/" → "a/b"; the root is ""). */
export function cleanTocName (name: string): string {
  const parts: string[] = []
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue
    if (p === '..') parts.pop()
    else parts.push(p)
  }
  return parts.join('/')
}

/** RFC 3339 in UTC, as the Go writer prints it ("" for time 0). */
export function formatModtime (sec: number): string {
  if (sec === 0) return ''
  return new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
}
