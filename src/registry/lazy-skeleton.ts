// Builds a lazy layer's skeleton from its TOC: the tree an ordinary pull
// would extract, with every regular file's content still missing. The TOC's
// entries become a tar with empty files, extracted by the ordinary extractor
// (so whiteouts, opaque markers, owners, modes, xattrs, hard links and the
// path-safety checks are the same as for any layer); then each file with
// content becomes a sparse file of its size marked LAZY_XATTR (with its TOC
// name), its mtime put back. stargz.index.json is written whole, as a plain
// pull of the layer would have it. What the TOC cannot say is lost: mtimes
// keep whole seconds, and names that are not UTF-8 come through as JSON
// turned them.
import { native, C, S_MODE, S_ATIME, S_ATIME_NS, S_MTIME, S_MTIME_NS } from '../native/binding.js'
import { errnoError } from '../base/errno-error.js'
import { emptyHeader, encodeHeader, padding, type TarHeader, type TarType } from '../image/tar-header.js'
import { extractLayer, safeParts } from '../image/layer-extract.js'
import { LAZY_XATTR, keepingXattrs } from '../union/lazy-layer.js'
import { S_IFMT, S_IFREG } from '../union/whiteout.js'
import { cleanTocName, type Toc, type TocEntry } from '../oci/estargz.js'

const TYPE: Record<string, TarType> = { dir: 'dir', reg: 'file', symlink: 'symlink', hardlink: 'link', char: 'char', block: 'block', fifo: 'fifo' }

/** JSON text → the raw bytes (as latin1) the tar codec carries. */
const raw = (s: string): string => Buffer.from(s, 'utf8').toString('latin1')

function headerOf (e: TocEntry): TarHeader {
  const type = TYPE[e.type]
  if (!type) throw errnoError('EBADMSG', `TOC entry ${e.name} has unknown type "${e.type}"`)
  const h = emptyHeader(raw(cleanTocName(e.name)) || '.', type)
  h.mode = (e.mode ?? (type === 'dir' ? 0o755 : 0o644)) & 0o7777
  h.uid = e.uid ?? 0
  h.gid = e.gid ?? 0
  if (e.modtime) {
    const t = Date.parse(e.modtime)
    if (!Number.isFinite(t)) throw errnoError('EBADMSG', `TOC entry ${e.name}: bad modtime "${e.modtime}"`)
    h.mtimeSec = Math.floor(t / 1000)
  }
  if (type === 'symlink') h.linkname = raw(e.linkName ?? '')
  if (type === 'link') h.linkname = raw(cleanTocName(e.linkName ?? ''))
  h.devmajor = e.devMajor ?? 0
  h.devminor = e.devMinor ?? 0
  for (const [k, v] of Object.entries(e.xattrs ?? {})) h.xattrs.set(raw(k), Buffer.from(v, 'base64'))
  return h
}

/** The TOC's files with content: name → size, for the last entry of each name (a later one replaces it). */
function contentFiles (toc: Toc): Map<string, number> {
  const last = new Map<string, TocEntry>()
  for (const e of toc.entries) if (e.type !== 'chunk') last.set(cleanTocName(e.name), e)
  const out = new Map<string, number>()
  for (const [n, e] of last) {
    if (e.type !== 'reg' || !e.size) continue
    if (!Number.isSafeInteger(e.size) || e.size < 0) throw errnoError('EBADMSG', `TOC entry ${e.name}: bad size ${e.size}`)
    out.set(n, e.size)
  }
  return out
}

/** Opens the parent directory of `parts` from `root`, never through a symlink. Caller closes. */
function openParent (root: number, parts: string[]): number {
  let fd = native.openat(root, '.', C.O_RDONLY | C.O_DIRECTORY, 0)
  for (const p of parts.slice(0, -1)) {
    const next = native.openat(fd, p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW, 0)
    native.close(fd)
    fd = next
  }
  return fd
}

export async function buildSkeleton (toc: Toc, tocHeader: TarHeader, tocJson: Buffer, tree: string): Promise<void> {
  const entries = toc.entries.filter((e) => e.type !== 'chunk')
  // eslint-disable-next-line @typescript-eslint/require-await -- an async generator is the AsyncIterable its consumer takes
  async function * tar (): AsyncGenerator<Buffer> {
    for (const e of entries) yield encodeHeader(headerOf(e))
    yield encodeHeader({ ...tocHeader, size: tocJson.length })
    yield tocJson
    yield Buffer.alloc(padding(tocJson.length) + 1024)
  }
  await extractLayer(tar(), tree)
  const root = native.openat(C.AT_FDCWD, tree, C.O_RDONLY | C.O_DIRECTORY, 0)
  try {
    for (const [name, size] of contentFiles(toc)) {
      const parts = safeParts(raw(name))
      const dir = openParent(root, parts)
      const base = parts[parts.length - 1]
      try {
        const st = native.lstatAtOrNull(dir, base)
        // A whiteout or a later non-file at this name: nothing to fill.
        if (!st || (st[S_MODE] & S_IFMT) !== S_IFREG) continue
        const fd = native.openat(dir, base, C.O_WRONLY | C.O_NOFOLLOW, 0)
        try {
          const before = native.fstat(fd)
          await keepingXattrs(fd, () => { native.ftruncate(fd, size) })
          native.setxattr(dir, base, LAZY_XATTR, Buffer.from(name, 'utf8'), 0)
          native.futimens(fd, before[S_ATIME], before[S_ATIME_NS], before[S_MTIME], before[S_MTIME_NS])
        } finally {
          native.close(fd)
        }
      } finally {
        native.close(dir)
      }
    }
  } finally {
    native.close(root)
  }
}
