// `strata image build`: runs a Dockerfile (dockerfile-parser.ts) step by
// step, as docker's classic builder does. Every step but FROM makes an image:
// metadata instructions (ENV, CMD, …) a new config with an empty_layer
// history entry; COPY/ADD a layer written straight from the context
// (copy-layer.ts, no mount); RUN a layer from the upper dir of a temporary
// container the command ran in (run/run-container.ts), removed whatever
// happens. Intermediate images are not in the index: the build cache
// (store/build-cache.ts) refers to them, keyed by the parent image, the
// step's history text (which carries the substituted arguments, the ARGs a
// RUN sees, and for COPY/ADD the sources' content digest) and the files'
// full digest; an entry whose image is gone is a miss. WORKDIR only sets
// the config: the directory is made by the RUN or COPY that uses it (or by
// `strata run`), so it lands in that step's layer.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { ownedPrefix } from '../store/stale-temp.js'
import type { Store } from '../store/store.js'
import { tempName } from '../base/atomic-file.js'
import { errnoError } from '../base/errno-error.js'
import { resolveImage, loadImage, manifestDescriptor } from '../image/resolve-image.js'
import { addLayerFromTar } from '../image/add-layer.js'
import { writeImage } from '../image/write-image.js'
import { changeStore } from '../image/collect-garbage.js'
import { archiveLayerToFile } from '../image/layer-archive.js'
import { parseReference } from '../image/reference.js'
import { ARCH } from '../image/import-image.js'
import { type ContainerConfig, type Descriptor, type ImageConfig } from '../oci/oci-types.js'
import { runContainer } from '../run/run-container.js'
import { parseDockerfile, dockerfileError, type Instruction } from './dockerfile-parser.js'
import { expandWord, expandWords, expandPairs, type Vars } from './expand-words.js'
import { BuildContext } from './build-context.js'
import { ImageTree } from './image-tree.js'
import { planCopy, writeCopyLayer } from './copy-layer.js'

export interface BuildOptions {
  /** The context directory. */
  context: string
  /** Default: <context>/Dockerfile. */
  dockerfile?: string
  tags?: string[]
  buildArgs?: Record<string, string>
  noCache?: boolean
  /** Progress lines (Step …, ---> …), without their newline. */
  log?: (line: string) => void
  /** What RUN commands print (default: our stdout and stderr). */
  output?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void
}

export interface BuildResult {
  /** The image ID (config digest). */
  id: string
  manifest: string
  tags: string[]
}

/** A RUN whose command failed: its status is the build's. */
export class RunFailed extends Error {
  constructor (message: string, readonly status: number) { super(message) }
}

interface Current {
  config: ImageConfig
  layers: Descriptor[]
  /** null only for scratch before its first step. */
  manifest: string | null
  id: string | null
}

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12)
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T
/** docker's history spelling of an argv: ["a" "b"]. */
const argvText = (argv: string[]): string => `[${argv.map((a) => JSON.stringify(a)).join(' ')}]`

function scratch (): Current {
  return { config: { architecture: ARCH[process.arch] ?? process.arch, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] }, layers: [], manifest: null, id: null }
}

export async function buildImage (store: Store, opts: BuildOptions): Promise<BuildResult> {
  const log = opts.log ?? (() => {})
  const ctx = new BuildContext(opts.context)
  const dockerfile = opts.dockerfile ?? path.join(opts.context, 'Dockerfile')
  const label = path.basename(dockerfile)
  let text: string
  try {
    text = fs.readFileSync(dockerfile, 'utf8')
  } catch (err) {
    throw errnoError((err as NodeJS.ErrnoException).code ?? 'EIO', `cannot read the Dockerfile ${dockerfile}: ${(err as Error).message}`)
  }
  const { instructions, escape } = parseDockerfile(text, label)
  if (!instructions.length) throw errnoError('EINVAL', `${label}: no instructions (is the Dockerfile empty?)`)
  const firstOther = instructions.find((i) => i.cmd !== 'ARG')
  if (firstOther?.cmd !== 'FROM') throw dockerfileError(label, (firstOther ?? instructions[0]).line, `the first instruction (after ARGs) must be FROM, not ${firstOther?.cmd ?? 'nothing'}`)
  const tags = (opts.tags ?? []).map((t) => parseReference(t).name)
  const buildArgs = new Map(Object.entries(opts.buildArgs ?? {}))
  const consumed = new Set<string>()

  let cur = scratch()
  let stageStarted = false
  const metaArgs = new Map<string, string | undefined>()
  let args = new Map<string, string | undefined>()
  let cmdSet = false

  /** What $VAR means now: ARGs, then the image's Env over them. */
  const vars = (): Vars => {
    const v = new Map<string, string>()
    for (const [k, x] of (stageStarted ? args : metaArgs)) if (x !== undefined) v.set(k, x)
    for (const e of cur.config.config?.Env ?? []) { const i = e.indexOf('='); v.set(e.slice(0, i), e.slice(i + 1)) }
    return v
  }

  const keyOf = (createdBy: string, extra = ''): string =>
    crypto.createHash('sha256').update(JSON.stringify([cur.id ?? 'scratch', createdBy, extra])).digest('hex')

  const cached = (key: string): Current | null => {
    if (opts.noCache) return null
    const m = store.buildCache.get(key)
    if (!m) return null
    try {
      const img = loadImage(store, m)
      if (!img.manifest.layers.every((l) => store.blobs.has(l.digest)) || !img.config.rootfs.diff_ids.every((d) => store.layers.has(d))) return null
      return { config: img.config, layers: img.manifest.layers, manifest: m, id: img.configDigest }
    } catch {
      return null // collected since: build it again
    }
  }

  /** The next image: the current one plus a layer (or none) and a history entry. */
  const commit = (key: string, createdBy: string, tar: string | null, change?: (c: ContainerConfig, img: ImageConfig) => void): Promise<Current> =>
    changeStore(store, async () => {
      const config = clone(cur.config)
      const layers = [...cur.layers]
      if (tar) {
        const layer = await addLayerFromTar(store, tar)
        config.rootfs.diff_ids.push(layer.diffID)
        layers.push(layer.descriptor)
      }
      const created = new Date().toISOString()
      config.created = created
      config.config = config.config ?? {}
      change?.(config.config, config)
      config.history = [...(config.history ?? []), { created, created_by: createdBy, ...(tar ? {} : { empty_layer: true }) }]
      const { manifest, configDigest } = writeImage(store, config, layers, undefined, false)
      store.buildCache.put(key, manifest.digest)
      return { config, layers, manifest: manifest.digest, id: configDigest }
    })

  /** A step that only changes the config. */
  const meta = async (createdBy: string, change: (c: ContainerConfig, img: ImageConfig) => void): Promise<void> => {
    const key = keyOf(createdBy)
    const hit = cached(key)
    if (hit) log(' ---> Using cache')
    cur = hit ?? await commit(key, createdBy, null, change)
    log(` ---> ${short(cur.id!)}`)
  }

  const nop = (what: string): string => `/bin/sh -c #(nop)  ${what}`

  const run = async (ins: Instruction): Promise<void> => {
    const argv = ins.json ?? ['/bin/sh', '-c', ins.args]
    const argEnv = [...args].filter(([k, v]) => v !== undefined && !(cur.config.config?.Env ?? []).some((e) => e.startsWith(k + '='))).map(([k, v]) => `${k}=${v}`)
    const visible = [...args].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`)
    const createdBy = (visible.length ? `|${visible.length} ${visible.join(' ')} ` : '') + argv.join(' ')
    const key = keyOf(createdBy)
    const hit = cached(key)
    if (hit) {
      log(' ---> Using cache')
      cur = hit
      log(` ---> ${short(cur.id!)}`)
      return
    }
    const c = await store.locked(() => {
      if (!cur.manifest) {
        // FROM scratch: the container needs an image to stand on.
        const w = writeImage(store, cur.config, [], undefined, false)
        cur = { ...cur, manifest: w.manifest.digest }
      }
      return store.containers.create(undefined, cur.manifest!, 'strata-build')
    })
    log(` ---> Running in ${short(c.id)}`)
    const tar = tempName(path.join(store.tmp, 'build-run.tar'))
    try {
      const status = await runContainer(store, c, loadImage(store, cur.manifest!), {
        flags: { command: argv, entrypoint: '', env: argEnv, hostname: short(c.id) },
        stdin: 'ignore',
        onOutput: opts.output ?? ((d, s) => (s === 'stdout' ? process.stdout : process.stderr).write(d)),
      })
      if (status !== 0) throw new RunFailed(`The command '${argv.join(' ')}' returned a non-zero code: ${status}`, status)
      const upper = store.containers.upper(c)
      const empty = fs.readdirSync(upper).length === 0
      if (!empty) await archiveLayerToFile(upper, tar)
      cur = await commit(key, createdBy, empty ? null : tar)
    } finally {
      fs.rmSync(tar, { force: true })
      await store.locked(() => store.containers.remove(c))
      log(`Removing intermediate container ${short(c.id)}`)
    }
    log(` ---> ${short(cur.id!)}`)
  }

  const copy = async (ins: Instruction): Promise<void> => {
    for (const f of Object.keys(ins.flags)) {
      if (f === 'from') throw errnoError('EINVAL', `${ins.cmd} --from is not supported (strata builds one stage at a time)`)
      if (f !== 'chown' && f !== 'chmod') throw errnoError('EINVAL', `${ins.cmd}: unknown option --${f}`)
    }
    const v = vars()
    const words = ins.json ? ins.json.map((w) => expandWord(w, v, escape)) : expandWords(ins.args, v, escape)
    if (words.length < 2) throw errnoError('EINVAL', `${ins.cmd} requires at least two arguments: source(s) and destination`)
    const dest = words[words.length - 1]
    const tree = new ImageTree(store, cur.config)
    const stage = fs.mkdtempSync(ownedPrefix(store.tmp, 'build-copy-'))
    const tar = tempName(path.join(store.tmp, 'build-copy.tar'))
    try {
      const plan = await planCopy(ctx, tree, {
        sources: words.slice(0, -1), dest, workdir: cur.config.config?.WorkingDir ?? '/', add: ins.cmd === 'ADD', what: ins.cmd,
        chown: ins.flags.chown === undefined ? undefined : expandWord(ins.flags.chown, v, escape),
        chmod: ins.flags.chmod,
      })
      const createdBy = `/bin/sh -c #(nop) ${ins.cmd} ${plan.describe} in ${dest} `
      const key = keyOf(createdBy, plan.digest)
      const hit = cached(key)
      if (hit) {
        log(' ---> Using cache')
        cur = hit
      } else {
        await writeCopyLayer(plan, tree, stage, tar)
        cur = await commit(key, createdBy, tar)
      }
      log(` ---> ${short(cur.id!)}`)
    } finally {
      tree.close()
      fs.rmSync(stage, { recursive: true, force: true })
      fs.rmSync(tar, { force: true })
    }
  }

  const step = async (ins: Instruction): Promise<void> => {
    const v = vars()
    const flag = Object.keys(ins.flags)[0]
    if (flag !== undefined && ins.cmd !== 'COPY' && ins.cmd !== 'ADD') throw errnoError('EINVAL', `${ins.cmd} --${flag} is not supported`)
    switch (ins.cmd) {
      case 'FROM': {
        const words = expandWords(ins.args, v, escape)
        if (words.length !== 1 && !(words.length === 3 && words[1].toLowerCase() === 'as')) throw errnoError('EINVAL', 'FROM takes an image (and optionally AS name)')
        stageStarted = true
        args = new Map()
        cmdSet = false
        if (words[0] === 'scratch') {
          cur = scratch()
          log(' ---> ')
          return
        }
        const img = resolveImage(store, words[0])
        cur = { config: img.config, layers: img.manifest.layers, manifest: img.manifestDigest, id: img.configDigest }
        log(` ---> ${short(cur.id!)}`)
        return
      }
      case 'ARG': {
        const pairs = expandPairs(ins.args, v, escape, false)
        for (const [k, def] of pairs) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw errnoError('EINVAL', `ARG: bad name "${k}"`)
          if (buildArgs.has(k)) consumed.add(k)
          const value = buildArgs.get(k) ?? def ?? (stageStarted ? metaArgs.get(k) : undefined)
          ;(stageStarted ? args : metaArgs).set(k, value)
        }
        if (!stageStarted) return
        await meta(nop(`ARG ${pairs.map(([k, d]) => (d === undefined ? k : `${k}=${d}`)).join(' ')}`), () => {})
        return
      }
      case 'RUN': return run(ins)
      case 'COPY': case 'ADD': return copy(ins)
      case 'ENV': {
        const pairs = expandPairs(ins.args, v, escape)
        for (const [k, x] of pairs) if (x === undefined || !k) throw errnoError('EINVAL', `ENV needs NAME=VALUE (or NAME VALUE), got "${k}"`)
        return meta(nop(`ENV ${pairs.map(([k, x]) => `${k}=${x}`).join(' ')}`), (c) => {
          const env = new Map((c.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e]))
          for (const [k, x] of pairs) env.set(k, `${k}=${x}`)
          c.Env = [...env.values()]
        })
      }
      case 'LABEL': {
        const pairs = expandPairs(ins.args, v, escape)
        for (const [k, x] of pairs) if (x === undefined || !k) throw errnoError('EINVAL', `LABEL needs key=value, got "${k}"`)
        const shown = pairs.map(([k, x]) => `${k}=${/[\s"]/.test(x!) || x === '' ? JSON.stringify(x) : x}`).join(' ')
        return meta(nop(`LABEL ${shown}`), (c) => { c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs) as Record<string, string> } })
      }
      case 'WORKDIR': {
        const dir = path.posix.resolve(cur.config.config?.WorkingDir || '/', expandWord(ins.args, v, escape))
        return meta(`/bin/sh -c #(nop) WORKDIR ${dir}`, (c) => { c.WorkingDir = dir })
      }
      case 'USER': {
        const user = expandWord(ins.args, v, escape).trim()
        return meta(nop(`USER ${user}`), (c) => { c.User = user })
      }
      case 'EXPOSE': {
        const ports = expandWords(ins.args, v, escape).map((p) => {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw errnoError('EINVAL', `EXPOSE: invalid port "${p}" (PORT or PORT/PROTOCOL)`)
          return p.includes('/') ? p.toLowerCase() : `${p}/tcp`
        })
        return meta(nop(`EXPOSE ${ports.join(' ')}`), (c) => {
          c.ExposedPorts = { ...(c.ExposedPorts ?? {}) }
          for (const p of ports) c.ExposedPorts[p] = {}
        })
      }
      case 'VOLUME': {
        const vols = ins.json ? ins.json.map((x) => expandWord(x, v, escape)) : expandWords(ins.args, v, escape)
        if (!vols.length || vols.some((x) => !x)) throw errnoError('EINVAL', 'VOLUME needs at least one path')
        return meta(nop(`VOLUME ${argvText(vols)}`), (c) => {
          c.Volumes = { ...(c.Volumes ?? {}) }
          for (const x of vols) c.Volumes[x] = {}
        })
      }
      case 'CMD': case 'ENTRYPOINT': {
        const argv = ins.json ?? ['/bin/sh', '-c', ins.args]
        const isCmd = ins.cmd === 'CMD'
        const resetCmd = !isCmd && !cmdSet
        if (isCmd) cmdSet = true
        return meta(nop(`${ins.cmd} ${argvText(argv)}`), (c) => {
          if (isCmd) c.Cmd = argv
          else {
            c.Entrypoint = argv
            // As docker: an ENTRYPOINT drops the Cmd inherited from the base image.
            if (resetCmd) delete c.Cmd
          }
        })
      }
      case 'MAINTAINER': {
        const who = expandWord(ins.args, v, escape).trim()
        return meta(nop(`MAINTAINER ${who}`), (_c, img) => { img.author = who })
      }
      case 'STOPSIGNAL': {
        const sig = expandWord(ins.args, v, escape).trim()
        return meta(nop(`STOPSIGNAL ${sig}`), (c) => { c.StopSignal = sig })
      }
      default:
        throw errnoError('EINVAL', `unknown instruction ${ins.cmd}`)
    }
  }

  for (const [n, ins] of instructions.entries()) {
    log(`Step ${n + 1}/${instructions.length} : ${ins.original}`)
    try {
      await step(ins)
    } catch (err) {
      if (err instanceof RunFailed) throw err
      // Name the line, after the errno code the message starts with.
      const e = err as Error
      const m = /^(E[A-Z0-9]+: )?([\s\S]*)$/.exec(e.message)!
      if (!m[2].startsWith(`${label}:`)) e.message = `${m[1] ?? ''}${label}:${ins.line}: ${m[2]}`
      throw e
    }
  }
  const unused = [...buildArgs.keys()].filter((k) => !consumed.has(k))
  if (unused.length) log(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`)
  if (!cur.manifest || !cur.id) throw errnoError('EINVAL', `${label}: no image was generated (FROM scratch alone makes none)`)
  // FROM alone keeps the base's manifest, which may be Docker's.
  const desc = manifestDescriptor(store, loadImage(store, cur.manifest))
  await store.locked(() => {
    for (const t of tags) store.index.tag(t, desc)
    // Untagged, the result is listed as <none>, as docker lists it.
    if (!tags.length) store.index.addDangling(desc)
  })
  log(`Successfully built ${short(cur.id)}`)
  for (const t of tags) log(`Successfully tagged ${t}`)
  return { id: cur.id, manifest: cur.manifest, tags }
}
