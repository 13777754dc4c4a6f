// A per-entry fingerprint of an extracted layer dir (type and mode, owner,
// size, device, mtime, link target, xattrs, content hash), for
// `system check --deep`: a layer dir is compared with a fresh extraction of
// its verified blob. An extraction is deterministic in all of these, so any
// difference means the dir was changed or damaged — except the mtimes of
// directories the tar has no entry for (made on the way, at extraction
// time), so directory mtimes are left out, as are those of symlinks (not settable
// everywhere) and whiteouts (made at extraction time). Never follows symlinks.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { native, C } from '../native/binding.js'

function fileHash (p: string): string {
  const hash = crypto.createHash('sha256')
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
  const buf = Buffer.alloc(1 << 20)
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n))
  } finally {
    fs.closeSync(fd)
  }
  return hash.digest('hex')
}

/** relative path ('' for the root) → fingerprint of that entry, in walk order. */
export function layerFingerprint (root: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (rel: string): void => {
    const p = path.join(root, rel)
    const st = fs.lstatSync(p, { bigint: true })
    const dirFd = native.openat(C.AT_FDCWD, path.dirname(p), C.O_RDONLY | C.O_DIRECTORY, 0)
    let xattrs: string
    try {
      const base = path.basename(p)
      xattrs = native.listxattr(dirFd, base).sort().map((k) => `${k}=${native.getxattr(dirFd, base, k)?.toString('hex') ?? ''}`).join(',')
    } finally {
      native.close(dirFd)
    }
    const kind = Number(st.mode) & 0o170000
    const whiteout = kind === 0o020000 && st.rdev === 0n
    const extra = kind === 0o100000 ? fileHash(p) : kind === 0o120000 ? fs.readlinkSync(p) : ''
    out.set(rel, [st.mode, st.uid, st.gid, kind === 0o040000 ? 0 : st.size, st.rdev, st.nlink, kind === 0o120000 || kind === 0o040000 || whiteout ? 0 : st.mtimeNs, xattrs, extra].join(' '))
    if (kind === 0o040000) for (const n of fs.readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n)
  }
  walk('')
  return out
}

/** The first path where two fingerprints differ, or null when they agree. */
export function firstDifference (a: Map<string, string>, b: Map<string, string>): string | null {
  for (const [k, v] of a) if (b.get(k) !== v) return k || '/'
  for (const k of b.keys()) if (!a.has(k)) return k || '/'
  return null
}
