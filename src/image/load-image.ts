// `strata image load`: a docker-archive (manifest.json; also the Docker 25+
// archive, which is an OCI layout carrying a manifest.json too) or an OCI
// image layout archive. The archive is staged in the store's tmp dir, every
// layer and blob is checked against its digest (DiffIDs from the config,
// blob names and descriptors) before anything enters the store; a tampered
// or truncated archive is refused naming the blob, and nothing half-loaded
// stays behind.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { ownedPrefix } from '../store/stale-temp.js'
import type { Store } from '../store/store.js'
import { errnoError } from '../base/errno-error.js'
import { readTar } from './tar-reader.js'
import { safeParts } from './layer-extract.js'
import { checkFits } from './decompression-bound.js'
import { addLayerFromTar, installLayerDir, decompressLayer, sha256File, type Progress } from './add-layer.js'
import { writeImage } from './write-image.js'
import { changeStore } from './collect-garbage.js'
import { parseReference } from './reference.js'
import { MT, REF_NAME, UNCOMPRESSED_SIZE, type Descriptor, type ImageConfig, type Manifest } from '../oci/oci-types.js'

interface Staged {
  dir: string
  /** archive name → file in `dir`, after following the archive's symlinks */
  get (name: string): string
  has (name: string): boolean
}

async function stage (input: Readable | AsyncIterable<Buffer>, dir: string): Promise<Staged> {
  const links = new Map<string, string>()
  const files = new Set<string>()
  for await (const { header: h, body } of readTar(input)) {
    const parts = safeParts(h.name, 'archive entry')
    const key = parts.join('/')
    if (h.type === 'symlink') {
      // Old docker archives link duplicate layers to one another.
      links.set(key, path.posix.normalize(path.posix.join(path.posix.dirname(key), h.linkname)))
      continue
    }
    if (h.type !== 'file' || parts.length === 0) continue
    if (h.sparse) throw errnoError('ENOTSUP', `archive entry "${h.name}" is a sparse file, which no image archive has: refused`)
    checkFits(dir, h.size, `archive entry "${h.name}"`)
    const dest = path.join(dir, ...parts)
    fs.mkdirSync(path.dirname(dest), { recursive: true })
    await pipeline(body, fs.createWriteStream(dest))
    files.add(key)
  }
  const resolve = (name: string): string => {
    let key = safeParts(name, 'archive reference').join('/')
    for (let i = 0; i < 16 && links.has(key); i++) key = links.get(key)!
    return key
  }
  return {
    dir,
    has: (name) => files.has(resolve(name)),
    get: (name) => {
      const key = resolve(name)
      if (!files.has(key)) throw errnoError('ENOENT', `the archive has no ${name}`)
      return path.join(dir, key)
    },
  }
}

/** JSON documents of an archive (manifests, configs, indexes): 4 MiB at most, as from a registry. */
const JSON_LIMIT = 4 << 20

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON document it expects
const readJson = <T>(file: string, what: string): T => {
  const size = fs.statSync(file).size
  if (size > JSON_LIMIT) throw errnoError('EFBIG', `${what} is ${size} bytes, more than the ${JSON_LIMIT} a manifest or config may have`)
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T
  } catch {
    throw errnoError('EBADMSG', `${what} is not valid JSON`)
  }
}

interface DockerEntry { Config: string, RepoTags: string[], Layers: string[] }

/** manifest.json of a docker-archive, checked shape by shape; the error names the field. */
function dockerEntries (doc: unknown): DockerEntry[] {
  if (!Array.isArray(doc)) throw errnoError('EBADMSG', `manifest.json: expected an array of images, got ${doc === null ? 'null' : typeof doc}`)
  return doc.map((e: unknown, i) => {
    const at = `manifest.json[${i}]`
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw errnoError('EBADMSG', `${at}: expected an object, got ${Array.isArray(e) ? 'an array' : e === null ? 'null' : typeof e}`)
    const { Config, RepoTags, Layers } = e as Record<string, unknown>
    if (typeof Config !== 'string') throw errnoError('EBADMSG', `${at}.Config: ${Config === undefined ? 'missing' : 'not a string'}`)
    if (!Array.isArray(Layers)) throw errnoError('EBADMSG', `${at}.Layers: ${Layers === undefined ? 'missing' : 'not an array'}`)
    Layers.forEach((l, j) => { if (typeof l !== 'string') throw errnoError('EBADMSG', `${at}.Layers[${j}]: not a string`) })
    if (RepoTags !== undefined && RepoTags !== null && !Array.isArray(RepoTags)) throw errnoError('EBADMSG', `${at}.RepoTags: not an array`)
    const tags = (RepoTags ?? []) as unknown[]
    tags.forEach((n, j) => { if (typeof n !== 'string') throw errnoError('EBADMSG', `${at}.RepoTags[${j}]: not a string`) })
    // Paths are checked (no "..", no absolute path) before any is opened.
    safeParts(Config, `${at}.Config`)
    Layers.forEach((l, j) => safeParts(l as string, `${at}.Layers[${j}]`))
    return { Config, RepoTags: tags as string[], Layers: Layers as string[] }
  })
}

export interface Loaded {
  id: string
  names: string[]
}

export async function loadImages (store: Store, input: Readable | AsyncIterable<Buffer>, progress?: Progress): Promise<Loaded[]> {
  const dir = fs.mkdtempSync(ownedPrefix(store.tmp, 'load-'))
  try {
    const st = await stage(input, dir)
    const plan = st.has('manifest.json') ? await planDocker(st) : st.has('index.json') ? await planOci(st) : null
    if (!plan) throw errnoError('EINVAL', 'not an image archive: no manifest.json (docker-archive) nor index.json (OCI layout)')
    return await changeStore(store, () => commitPlan(store, plan, progress))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** What a load will store, all verified. */
interface PlannedImage {
  config: Buffer
  names: string[]
  layers: Array<{ diffID: string, tar: string, blob?: { file: string, desc: Descriptor } }>
  manifest?: Buffer
}

/** Each staged layer file is decompressed once, however often the archive names it. */
type Decompressed = Map<string, Promise<{ diffID: string, tar: string }>>

async function verifiedLayers (st: Staged, config: ImageConfig, files: string[], what: string, done: Decompressed): Promise<PlannedImage['layers']> {
  const ids = config.rootfs?.diff_ids ?? []
  if (!Array.isArray(ids)) throw errnoError('EBADMSG', `${what}: rootfs.diff_ids is not an array`)
  if (ids.length !== files.length) throw errnoError('EBADMSG', `${what}: ${files.length} layers but the config names ${ids.length}`)
  const out: PlannedImage['layers'] = []
  for (let i = 0; i < files.length; i++) {
    const file = st.get(files[i])
    let once = done.get(file)
    if (!once) {
      const tar = path.join(st.dir, `.layer-${crypto.randomBytes(6).toString('hex')}.tar`)
      once = decompressLayer(file, tar, `layer ${files[i]}`).then((diffID) => ({ diffID, tar }))
      done.set(file, once)
    }
    const { diffID, tar } = await once
    if (diffID !== ids[i]) throw errnoError('EBADMSG', `layer ${files[i]}: digest mismatch (expected ${ids[i]}, got ${diffID}): the archive is corrupt or truncated`)
    out.push({ diffID, tar })
  }
  return out
}

async function planDocker (st: Staged): Promise<PlannedImage[]> {
  const entries = dockerEntries(readJson<unknown>(st.get('manifest.json'), 'manifest.json'))
  const plans: PlannedImage[] = []
  const done: Decompressed = new Map()
  for (const e of entries) {
    const cfgFile = st.get(e.Config)
    const hex = /([0-9a-f]{64})(\.json)?$/.exec(e.Config)?.[1]
    if (hex && 'sha256:' + hex !== await sha256File(cfgFile)) throw errnoError('EBADMSG', `config ${e.Config}: digest mismatch: the archive is corrupt`)
    const config = fs.readFileSync(cfgFile)
    const layers = await verifiedLayers(st, readJson<ImageConfig>(cfgFile, e.Config), e.Layers, e.Config, done)
    plans.push({ config, names: e.RepoTags.map((n) => parseReference(n).name), layers })
  }
  return plans
}

async function planOci (st: Staged): Promise<PlannedImage[]> {
  const blob = async (d: Descriptor): Promise<string> => {
    if (!/^sha256:[0-9a-f]{64}$/.test(d.digest)) throw errnoError('EBADMSG', `unsupported digest ${d.digest}`)
    const file = st.get(`blobs/sha256/${d.digest.slice(7)}`)
    if (await sha256File(file) !== d.digest) throw errnoError('EBADMSG', `blob ${d.digest}: digest mismatch: the archive is corrupt or truncated`)
    return file
  }
  const plans: PlannedImage[] = []
  const done: Decompressed = new Map()
  const visit = async (descs: Descriptor[], names: string[]): Promise<void> => {
    for (const d of descs) {
      const n = d.annotations?.['io.containerd.image.name'] ?? d.annotations?.[REF_NAME]
      const own = n ? [parseReference(n).name] : names
      if (d.mediaType === MT.ociIndex || d.mediaType === MT.dockerList) {
        const idx = readJson<{ manifests: Descriptor[] }>(await blob(d), `index ${d.digest}`)
        const pick = idx.manifests.filter((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === 'amd64'))
        await visit(pick.slice(0, 1), own)
        continue
      }
      const manifestFile = await blob(d)
      const m = readJson<Manifest>(manifestFile, `manifest ${d.digest}`)
      const cfgFile = await blob(m.config)
      const layerFiles = await Promise.all(m.layers.map(blob))
      const layers = await verifiedLayers(st, readJson<ImageConfig>(cfgFile, `config ${m.config.digest}`),
        layerFiles.map((f) => path.relative(st.dir, f)), `manifest ${d.digest}`, done)
      layers.forEach((l, i) => { l.blob = { file: layerFiles[i], desc: m.layers[i] } })
      const existing = plans.find((p) => p.manifest?.equals(fs.readFileSync(manifestFile)))
      if (existing) existing.names.push(...own)
      else plans.push({ config: fs.readFileSync(cfgFile), names: [...own], layers, manifest: fs.readFileSync(manifestFile) })
    }
  }
  await visit(readJson<{ manifests: Descriptor[] }>(st.get('index.json'), 'index.json').manifests, [])
  return plans
}

async function commitPlan (store: Store, plans: PlannedImage[], progress?: Progress): Promise<Loaded[]> {
  const out: Loaded[] = []
  // A layer named again is stored once: its gzip blob is made once too.
  const gzipped = new Map<string, Descriptor>()
  for (const p of plans) {
    const descs: Descriptor[] = []
    for (const l of p.layers) {
      const known = gzipped.get(l.tar)
      if (known) { descs.push(known); continue }
      if (l.blob) {
        // OCI: keep the blob as it was, so the manifest keeps its digest.
        await installLayerDir(store, l.diffID, l.tar, progress)
        await store.blobs.putStream(fs.createReadStream(l.blob.file), l.blob.desc.digest, `layer ${l.blob.desc.digest}`)
        descs.push({ ...l.blob.desc, annotations: { ...(l.blob.desc.annotations ?? {}), [UNCOMPRESSED_SIZE]: String(fs.statSync(l.tar).size) } })
      } else {
        const desc = (await addLayerFromTar(store, l.tar, progress)).descriptor
        gzipped.set(l.tar, desc)
        descs.push(desc)
      }
    }
    const [first, ...rest] = p.names
    const { manifest, configDigest } = writeImage(store, p.config, descs, first)
    for (const n of rest) store.index.tag(n, manifest)
    out.push({ id: configDigest, names: p.names })
  }
  return out
}
