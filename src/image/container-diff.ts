// `strata diff`: what a container changed against its image, as docker diff
// prints it — A added, C changed, D deleted — read from the upper dir and
// checked against a read-only union of the image's layers. A renamed
// directory (redirect_dir) shows as docker's naive diff of the two trees
// shows a move: D at the old path (its whiteout), A at the new one and for
// everything it holds — its lower content included, read through a union
// of the upper over the layers.
import fs from 'node:fs'
import path from 'node:path'
import type { Store } from '../store/store.js'
import type { ContainerRecord } from '../store/container-store.js'
import { UnionFs, ROOT_ID, type Entry } from '../union/union-fs.js'
import { native, C, S_MODE, S_UID, S_GID, S_RDEV, S_SIZE, S_MTIME, S_MTIME_NS, type RawStat } from '../native/binding.js'
import { REDIRECT_XATTR, S_IFMT, S_IFDIR } from '../union/whiteout.js'
import { DirLayer } from '../union/dir-layer.js'
import { loadImage } from './resolve-image.js'
import { errnoError } from '../base/errno-error.js'

export interface Change { kind: 'A' | 'C' | 'D', path: string }

export function containerDiff (store: Store, c: ContainerRecord): Change[] {
  const img = loadImage(store, c.manifest)
  const layers = [...img.config.rootfs.diff_ids].reverse().map((d) => new DirLayer(store.layers.require(d)))
  const changes: Change[] = []
  if (layers.length === 0) {
    // An image with no layers: everything in the upper is new.
    const walk = (dir: string, rel: string): void => {
      for (const n of fs.readdirSync(dir).sort()) {
        const p = `${rel}/${n}`
        changes.push({ kind: 'A', path: p })
        if (fs.lstatSync(path.join(dir, n)).isDirectory()) walk(path.join(dir, n), p)
      }
    }
    walk(store.containers.upper(c), '')
    return changes
  }
  const upper = store.containers.upper(c)
  const lower = new UnionFs(layers, null)
  const dirId = (e: Entry | null): number | null => e && (e.attr[S_MODE] & S_IFMT) === S_IFDIR ? e.node.id : null
  let merged: UnionFs | null = null
  /** The merged view (made once) and its node at `rel`. */
  const mergedAt = (rel: string): { u: UnionFs, id: number } => {
    const u = merged ??= new UnionFs([new DirLayer(upper), ...layers], null)
    let id = ROOT_ID
    for (const part of rel.slice(1).split('/')) {
      const e = u.lookup(id, part)
      if (!e) throw errnoError('ENOENT', `${rel}: not in the merged view of container ${c.name}`)
      id = e.node.id
    }
    return { u, id }
  }
  // A renamed directory's content, as the merged view shows it, compared
  // with what the image has at the same path as docker's naive diff does:
  // new paths are A; an entry there before is C when its metadata differs
  // (a directory: or anything inside changed); one it no longer has is D.
  const walkMerged = (u: UnionFs, id: number, rel: string, lowerId: number | null): void => {
    const names = new Set(listing(u, id))
    const before = lowerId === null ? [] : listing(lower, lowerId)
    for (const n of [...new Set([...names, ...before])].sort()) {
      const p = `${rel}/${n}`
      const e = lowerId === null ? null : lower.lookup(lowerId, n)
      if (!names.has(n)) {
        // What the image had here and the moved dir has not.
        if (e) changes.push({ kind: 'D', path: p })
        continue
      }
      const m = u.lookup(id, n)
      if (!m) continue
      const at = changes.length
      const sub = dirId(m)
      if (sub !== null) walkMerged(u, sub, p, dirId(e))
      if (!e) changes.splice(at, 0, { kind: 'A', path: p })
      else if (changes.length > at || metaDiffers(m.attr, e.attr) || !capOf(u, m).equals(capOf(lower, e))) changes.splice(at, 0, { kind: 'C', path: p })
    }
  }
  const walk = (dir: string, rel: string, lowerId: number | null): void => {
    for (const n of fs.readdirSync(dir).sort()) {
      const p = `${rel}/${n}`
      const st = fs.lstatSync(path.join(dir, n))
      const e = lowerId === null ? null : lower.lookup(lowerId, n)
      if (st.isCharacterDevice() && st.rdev === 0) {
        if (e) changes.push({ kind: 'D', path: p })
        continue
      }
      changes.push({ kind: e ? 'C' : 'A', path: p })
      if (!st.isDirectory()) continue
      if (native.getxattr(C.AT_FDCWD, path.join(dir, n), REDIRECT_XATTR) === null) walk(path.join(dir, n), p, dirId(e))
      else {
        const { u, id } = mergedAt(p)
        walkMerged(u, id, p, dirId(e))
      }
    }
  }
  walk(upper, '', ROOT_ID)
  return changes
}

function listing (u: UnionFs, id: number): string[] {
  const h = u.opendir(id)
  try {
    return u.dirHandle(h).listing.names
  } finally {
    u.releasedir(h)
  }
}

/** File capabilities, which docker's diff compares too (empty when none). */
function capOf (u: UnionFs, e: Entry): Buffer {
  try {
    return u.getxattr(e.node.id, 'security.capability')
  } catch {
    return Buffer.alloc(0)
  }
}

/** docker's naive diff test: owner, mode, device; for non-directories also size and mtime. */
function metaDiffers (a: RawStat, b: RawStat): boolean {
  if (a[S_MODE] !== b[S_MODE] || a[S_UID] !== b[S_UID] || a[S_GID] !== b[S_GID] || a[S_RDEV] !== b[S_RDEV]) return true
  if ((a[S_MODE] & S_IFMT) === S_IFDIR) return false
  return a[S_SIZE] !== b[S_SIZE] || a[S_MTIME] !== b[S_MTIME] || a[S_MTIME_NS] !== b[S_MTIME_NS]
}
