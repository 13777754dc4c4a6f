// `strata system check`: every blob re-hashed, every image's manifest,
// config and layer blobs present, every layer dir there. With repair: corrupt
// blobs removed, missing layer dirs extracted again from their blobs, an
// unreadable index.json rebuilt from the manifests found (without names).
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { pipeline } from 'node:stream/promises'
import { PassThrough } from 'node:stream'
import type { Store } from '../store/store.js'
import { tempName, writeFileAtomic } from '../base/atomic-file.js'
import { installLayerDir, sha256File } from './add-layer.js'
import { MT, type Descriptor, type ImageConfig, type Manifest } from '../oci/oci-types.js'

export interface Problem { what: string, repaired: boolean }

export async function checkStore (store: Store, repair: boolean): Promise<Problem[]> {
  const problems: Problem[] = []
  const note = (what: string, repaired = false): void => { problems.push({ what, repaired }) }
  const bad = new Set<string>()
  const ok = (d: string): boolean => store.blobs.has(d) && !bad.has(d)
  for (const d of store.blobs.list()) {
    if (await store.blobs.verify(d)) continue
    bad.add(d)
    if (repair) store.blobs.remove(d)
    note(`blob ${d} does not match its digest${repair ? ': removed' : ''}`, repair)
  }
  let entries: Descriptor[]
  try {
    entries = store.index.entries()
  } catch (err) {
    note((err as Error).message)
    if (!repair) return problems
    const found: Descriptor[] = []
    for (const d of store.blobs.list()) {
      try {
        const m = JSON.parse(store.blobs.read(d).toString('utf8')) as Manifest
        if (m.schemaVersion === 2 && m.config?.digest && Array.isArray(m.layers)) found.push({ mediaType: m.mediaType ?? MT.ociManifest, digest: d, size: store.blobs.size(d) })
      } catch { /* not JSON: a layer */ }
    }
    writeFileAtomic(path.join(store.root, 'oci', 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: found }, null, 2) + '\n')
    note(`index.json rebuilt with ${found.length} image(s), without their names`, true)
    entries = found
  }
  for (const e of entries) {
    const name = e.annotations?.['org.opencontainers.image.ref.name'] ?? e.digest
    if (!ok(e.digest)) { note(`image ${name}: manifest ${e.digest} is missing or corrupt`); continue }
    const m = store.blobs.readJson<Manifest>(e.digest)
    if (!ok(m.config.digest)) { note(`image ${name}: config ${m.config.digest} is missing or corrupt`); continue }
    const cfg = store.blobs.readJson<ImageConfig>(m.config.digest)
    for (let i = 0; i < m.layers.length; i++) {
      const diffID = cfg.rootfs.diff_ids[i]
      const blob = m.layers[i].digest
      if (!ok(blob)) { note(`image ${name}: layer blob ${blob} is missing or corrupt`); continue }
      if (store.layers.has(diffID)) continue
      if (!repair) { note(`image ${name}: layer dir for ${diffID} is missing`); continue }
      const tar = tempName(path.join(store.tmp, 'repair.tar'))
      try {
        const head = Buffer.alloc(2)
        const fd = fs.openSync(store.blobs.path(blob), 'r')
        fs.readSync(fd, head, 0, 2, 0)
        fs.closeSync(fd)
        await pipeline(store.blobs.stream(blob), head[0] === 0x1f && head[1] === 0x8b ? zlib.createGunzip() : new PassThrough(), fs.createWriteStream(tar))
        if (await sha256File(tar) !== diffID) { note(`image ${name}: layer blob ${blob} does not give DiffID ${diffID}`); continue }
        await installLayerDir(store, diffID, tar)
        note(`image ${name}: layer dir for ${diffID} extracted again`, true)
      } finally {
        fs.rmSync(tar, { force: true })
      }
    }
  }
  return problems
}
