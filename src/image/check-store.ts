// `strata system check`: everything in the store accounted for. Every blob
// re-hashed; every image's manifest, config and layer blobs present; every
// layer dir present and complete (its completion mark written), and with
// `deep` equal to a fresh extraction of its verified blob; no orphan blobs
// or layer dirs (reachable from no image, container or build cache entry);
// no half-made or half-removed containers; no temp files of dead commands;
// no stale pause requests. Each problem is reported by kind and name; with
// `repair`, fixed where it can be: temp names and orphans removed,
// incomplete or differing layer dirs extracted again from their blobs, an
// unreadable index.json rebuilt from the manifests found (without names).
// A lazily pulled layer not yet filled (its blob or layer dir missing while
// its lazy dir holds the skeleton) is a notice, not a problem: partial, with
// the bytes fetched so far; lazy dirs no image reaches are orphans.
// The store must be opened without its sweep (Store opts.sweep false) for
// the temp names of dead commands to be seen; callers hold the store lock.
import fs from 'node:fs'
import path from 'node:path'
import type { Store } from '../store/store.js'
import { ownedPrefix, removeDoomed } from '../store/stale-temp.js'
import { writeFileAtomic } from '../base/atomic-file.js'
import { recordPath } from '../fuse/mount-daemon.js'
import { extractBlobVerified, installLayerFromBlob } from './add-layer.js'
import { reachable } from './collect-garbage.js'
import { keptBytes, lazyRoot, lazyTree, listLazy, removeLazy, staleLazyTemp } from '../store/lazy-layers.js'
import { firstDifference, layerFingerprint } from './layer-fingerprint.js'
import { MT, REF_NAME, type Descriptor, type ImageConfig, type Manifest } from '../oci/oci-types.js'

export type ProblemKind = 'temp' | 'corrupt-blob' | 'index' | 'image' | 'missing-layer' | 'incomplete-layer' | 'layer-differs' |
  'stray-mark' | 'orphan-blob' | 'orphan-layer' | 'broken-container' | 'container-image' | 'stale-pause' |
  'partial-layer' | 'orphan-lazy'

export interface Problem {
  kind: ProblemKind
  /** The thing at fault: a path relative to the store, a digest, a name. */
  name: string
  what: string
  repaired: boolean
  /** Not a problem, only worth saying (a lazily pulled layer not yet complete). */
  notice?: boolean
}

export interface CheckOptions { repair?: boolean, deep?: boolean }

/** The dir pause requests live in (beside the mount records). */
function pauseDir (): string {
  return path.dirname(recordPath('/'))
}

function alive (pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

export async function checkStore (store: Store, opts: CheckOptions = {}): Promise<Problem[]> {
  const repair = opts.repair ?? false
  const problems: Problem[] = []
  // A fix may say what it did (appended to the message).
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a fix says what it did, or returns nothing
  const note = (kind: ProblemKind, name: string, what: string, fix?: () => void | string | Promise<void>): Promise<void> | void => {
    const p: Problem = { kind, name, what, repaired: false }
    problems.push(p)
    if (!repair || !fix) return
    // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a fix says what it did, or returns nothing
    const done = (said?: void | string): void => {
      p.repaired = true
      if (typeof said === 'string') p.what += `: ${said}`
    }
    const r = fix()
    if (r instanceof Promise) return r.then(done, (err: unknown) => { p.what += ` (repair failed: ${(err as Error).message})` })
    done(r)
  }
  const rel = (p: string): string => path.relative(store.root, p)

  // Temp names of dead commands.
  for (const [dir, names] of [[store.tmp, store.staleTemp()], [store.blobs.dir, store.blobs.staleTemp()],
    [store.layers.dir, store.layers.staleTemp()], [store.containers.dir, store.containers.staleTemp()]] as const) {
    for (const n of names) void note('temp', rel(path.join(dir, n)), `${rel(path.join(dir, n))} was left by a command that died`, () => { removeDoomed(dir, n) })
  }
  for (const n of staleLazyTemp(store.root)) {
    void note('temp', rel(path.join(lazyRoot(store.root), n)), `${rel(path.join(lazyRoot(store.root), n))} was left by a command that died`, () => { removeDoomed(lazyRoot(store.root), n) })
  }
  for (const n of store.layers.strayMarks()) {
    void note('stray-mark', rel(path.join(store.layers.dir, n)), `${rel(path.join(store.layers.dir, n))} marks a layer dir that is gone`, () => { fs.rmSync(path.join(store.layers.dir, n), { force: true }) })
  }

  // Blobs, re-hashed.
  const bad = new Set<string>()
  const ok = (d: string): boolean => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d) && store.blobs.has(d) && !bad.has(d)
  for (const d of store.blobs.list()) {
    if (await store.blobs.verify(d)) continue
    bad.add(d)
    void note('corrupt-blob', d, `blob ${d} does not match its digest`, () => { store.blobs.remove(d) })
  }

  // The index.
  let entries: Descriptor[]
  try {
    entries = store.index.entries()
  } catch (err) {
    entries = []
    void note('index', 'index.json', (err as Error).message, () => {
      const found: Descriptor[] = []
      for (const d of store.blobs.list()) {
        if (bad.has(d)) continue
        try {
          const m = JSON.parse(store.blobs.read(d).toString('utf8')) as Manifest
          if (m.schemaVersion === 2 && m.config?.digest && Array.isArray(m.layers)) found.push({ mediaType: m.mediaType ?? MT.ociManifest, digest: d, size: store.blobs.size(d) })
        } catch { /* not JSON: a layer */ }
      }
      writeFileAtomic(path.join(store.root, 'oci', 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: found }, null, 2) + '\n')
      entries = found
      return `index.json rebuilt with ${found.length} image(s), without their names`
    })
    if (!repair) return problems
  }

  // Containers.
  for (const id of store.containers.broken()) {
    void note('broken-container', rel(path.join(store.containers.dir, id)), `container dir ${id} has no config.json (half-made or half-removed)`, () => { store.containers.removeDir(id) })
  }
  const images = new Map<string, string>()
  for (const e of entries) if (!images.has(e.digest) || e.annotations?.[REF_NAME]) images.set(e.digest, e.annotations?.[REF_NAME] ?? e.digest)
  for (const c of store.containers.list()) {
    if (!images.has(c.manifest) && !ok(c.manifest)) void note('container-image', c.name, `container ${c.name}: its image ${c.manifest} is gone from the store`)
    else if (!images.has(c.manifest)) images.set(c.manifest, `${c.imageName} (of container ${c.name})`)
  }
  for (const m of store.buildCache.manifests()) if (!images.has(m) && ok(m)) images.set(m, `${m} (build cache)`)

  // Images and their layer dirs.
  const checked = new Set<string>()
  for (const [digest, name] of images) {
    if (!ok(digest)) { void note('image', name, `image ${name}: manifest ${digest} is missing or corrupt`); continue }
    let m: Manifest
    let cfg: ImageConfig
    try {
      m = store.blobs.readJson<Manifest>(digest)
      if (!ok(m.config?.digest)) { void note('image', name, `image ${name}: config ${m.config?.digest} is missing or corrupt`); continue }
      cfg = store.blobs.readJson<ImageConfig>(m.config.digest)
    } catch (err) {
      void note('image', name, `image ${name}: ${(err as Error).message}`)
      continue
    }
    const ids = cfg.rootfs?.diff_ids ?? []
    const layers = Array.isArray(m.layers) ? m.layers : []
    if (ids.length !== layers.length) { void note('image', name, `image ${name}: ${layers.length} layers but the config names ${ids.length}`); continue }
    for (let i = 0; i < layers.length; i++) {
      const diffID = ids[i]
      const blob = layers[i].digest
      if (checked.has(diffID)) continue
      checked.add(diffID)
      const hasBlob = ok(blob)
      const p = store.layers.path(diffID)
      // Pulled lazily and not filled yet (or a fill cut short): the skeleton serves it meanwhile.
      if (lazyTree(store.root, diffID) !== null && !(hasBlob && store.layers.has(diffID)) && !(fs.existsSync(p) && !store.layers.has(diffID))) {
        const size = layers[i].size
        problems.push({ kind: 'partial-layer', name: diffID, what: `image ${name}: layer ${blob} was pulled lazily, ${keptBytes(store.root, diffID, size)} of its ${size} bytes fetched so far (a mount's background fill or image save completes it)`, repaired: false, notice: true })
        continue
      }
      if (!hasBlob) void note('image', name, `image ${name}: layer blob ${blob} is missing or corrupt`)
      const extract = hasBlob ? () => installLayerFromBlob(store, diffID, store.blobs.path(blob), `layer ${blob}`) : undefined
      if (!fs.existsSync(p)) {
        await note('missing-layer', diffID, `image ${name}: layer dir for ${diffID} is missing`, extract)
      } else if (!store.layers.has(diffID)) {
        await note('incomplete-layer', diffID, `image ${name}: layer dir for ${diffID} is incomplete (no completion mark: an interrupted extraction or removal)`, extract)
      } else if (opts.deep && hasBlob) {
        const fresh = fs.mkdtempSync(ownedPrefix(store.layers.dir, '.tmp-'))
        try {
          fs.chmodSync(fresh, 0o755)
          await extractBlobVerified(store.blobs.path(blob), fresh, diffID, `layer ${blob}`)
          const diff = firstDifference(layerFingerprint(fresh), layerFingerprint(p))
          if (diff !== null) {
            await note('layer-differs', diffID, `image ${name}: layer dir for ${diffID} differs from its blob at ${diff}`, async () => {
              store.layers.remove(diffID)
              await extract!()
            })
          }
        } finally {
          fs.rmSync(fresh, { recursive: true, force: true })
        }
      }
    }
  }

  // Orphans: what no image, container or build cache entry reaches.
  const keep = reachable(store)
  for (const d of store.blobs.list()) {
    if (!keep.blobs.has(d) && !bad.has(d)) void note('orphan-blob', d, `blob ${d} is used by no image`, () => { store.blobs.remove(d) })
  }
  for (const d of store.layers.list()) {
    if (!keep.diffIDs.has(d)) void note('orphan-layer', d, `layer dir for ${d} is used by no image`, () => { store.layers.remove(d) })
  }
  for (const d of listLazy(store.root)) {
    if (!keep.diffIDs.has(d)) void note('orphan-lazy', d, `lazy layer dir for ${d} is used by no image`, () => { removeLazy(store.root, d) })
  }
  for (const d of store.layers.incomplete()) {
    if (!keep.diffIDs.has(d)) void note('orphan-layer', d, `layer dir for ${d} is incomplete and used by no image`, () => { store.layers.remove(d) })
  }

  // Pause requests whose requester (.pause) or daemon (.paused) died.
  const mounts = pauseDir()
  const pauses = fs.existsSync(mounts) ? fs.readdirSync(mounts) : []
  for (const n of pauses.filter((x) => x.endsWith('.pause') || x.endsWith('.paused'))) {
    const f = path.join(mounts, n)
    let pid = 0
    try { pid = Number(fs.readFileSync(f, 'utf8').trim()) } catch { continue }
    if (!alive(pid)) void note('stale-pause', f, `${f}: pause file of process ${pid}, which is gone`, () => { fs.rmSync(f, { force: true }) })
  }
  return problems
}
