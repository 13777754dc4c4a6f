// `strata diff`: what a container changed against its image, as docker diff
// prints it — A added, C changed, D deleted — read from the upper dir and
// checked against a read-only union of the image's layers.
import fs from 'node:fs'
import path from 'node:path'
import type { Store } from '../store/store.js'
import type { ContainerRecord } from '../store/container-store.js'
import { UnionFs, ROOT_ID } from '../union/union-fs.js'
import { DirLayer } from '../union/dir-layer.js'
import { loadImage } from './resolve-image.js'

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
  const lower = new UnionFs(layers, null)
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
      if (st.isDirectory()) walk(path.join(dir, n), p, e && (e.attr[2] & 0o170000) === 0o040000 ? e.node.id : null)
    }
  }
  walk(store.containers.upper(c), '', ROOT_ID)
  return changes
}
