// Library entry of `scripts/bench --suite registry`: times strata image
// push/pull against skopeo (and skopeo + umoci unpack, the same end state as
// a strata pull: verified and extracted) through a real Distribution
// registry on 127.0.0.1, and returns medians and ratios. Printing is the
// caller's job (format-registry-table.ts).
// Invariants: every registry started here is stopped by PID before
// runRegistryBench settles, also on error and on SIGINT/SIGTERM; the work dir
// is only ever one this bench created (marker file). Each timed push goes to
// a registry restarted on emptied storage, under a repository name not used
// before, with strata's registry-sources.json removed: nothing can be
// skipped or cross-repository mounted, every byte is uploaded. Each timed
// pull goes into an empty destination; the registry's blobs are in the page
// cache for every tool alike (one untimed warm-up pull per tool first). A
// sync(1), untimed, runs before each timed command; the sync right after it
// is timed separately (what the tool left for the kernel to write).

import { createReadStream, existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createGunzip } from 'node:zlib'
import { buildImageTree } from './build-image-tree.js'
import { freePort, startRegistry, type RegistryServer } from './registry-server.js'
import { timedSpawn } from './timed-spawn.js'
import { median } from './median.js'
import { runLazyStart, type LazyStartResult } from './lazy-start.js'

export const tools = ['strata', 'skopeo', 'skopeo+umoci'] as const
export type Tool = (typeof tools)[number]

export interface RegistryBenchOptions {
  runs: number;
  /** MiB of incompressible data in the big files */
  mib: number;
  /** number of small files */
  files: number;
  dir: string;
  keep: boolean;
  progress?: (line: string) => void;
  /** The lazy-start rows (lazy-start.ts): MiB of their image and the throttled link's MB/s; absent: not run. */
  lazyStart?: { mib: number; mbps: number };
}

export interface RegistryOpResult {
  op: 'push' | 'pull';
  /** seconds of each run, in order */
  runs: Partial<Record<Tool, number[]>>;
  median: Partial<Record<Tool, number>>;
  /** strata median / this tool's median */
  ratio: Partial<Record<Tool, number>>;
  /** median seconds of the sync(1) right after each timed command */
  syncAfter: Partial<Record<Tool, number>>;
  errors: Partial<Record<Tool, string>>;
}

export interface RegistryBenchResult {
  runs: number;
  mib: number;
  files: number;
  /** sum of the rootfs's file sizes */
  contentBytes: number;
  /** the layer tar, uncompressed */
  tarBytes: number;
  /** the layer blobs as stored and transferred (gzip) */
  compressedBytes: number;
  layers: number;
  warmup: true;
  /** median seconds of `strata image ls` on an empty store: the CLI's start-up, included in every strata time */
  strataStartup: number;
  results: RegistryOpResult[];
  lazyStart?: LazyStartResult;
}

const MARKER = '.strata-bench-registry'
const here = dirname(fileURLToPath(import.meta.url))
/** The CLI of this same build, as `strata` (bin/strata) runs it. */
const strataCli = [process.execPath, resolve(here, '..', 'cli', 'main.js')]

export async function runRegistryBench (opts: RegistryBenchOptions): Promise<RegistryBenchResult> {
  const progress = opts.progress ?? ((line: string) => process.stderr.write(line + '\n'))
  for (const bin of ['/usr/bin/docker-registry', '/usr/bin/skopeo', '/usr/bin/umoci']) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing (apt-get install ${bin.split('/').pop()})`)
  }
  const dir = resolve(opts.dir)
  await claimWorkDir(dir)

  const ac = new AbortController()
  const onSignal = (sig: NodeJS.Signals): void => {
    progress(`${sig}: stopping the registry, cleaning up`)
    ac.abort(new Error(`interrupted by ${sig}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const log = join(dir, 'bench.log')
  const storage = join(dir, 'registry-storage')
  const store = join(dir, 'store')
  let registry: RegistryServer | undefined
  const port = await freePort()
  const restart = async (empty: boolean): Promise<RegistryServer> => {
    await registry?.stop()
    registry = undefined
    if (empty) await rm(storage, { recursive: true, force: true })
    await mkdir(storage, { recursive: true })
    registry = await startRegistry(dir, storage, port, join(dir, 'registry.log'))
    return registry
  }
  const run = (argv: readonly string[], timeoutMs?: number): Promise<number> => timedSpawn(argv, { log, signal: ac.signal, timeoutMs })
  // --root after the command words: the CLI reads it as a command's option.
  const strata = (root: string, ...args: string[]): string[] => [...strataCli, ...args, '--root', root]

  try {
    const reg = await restart(true)
    const host = reg.host
    const image = `${host}/bench:1`
    progress(`registry: pid ${reg.pid} on ${host}, storage ${storage}`)

    progress(`building the test image: ${opts.files} small files + ${opts.mib} MiB in 4 big files`)
    const rootfs = join(dir, 'rootfs')
    const tree = await buildImageTree(rootfs, opts.files, opts.mib, ac.signal)
    await run(strata(store, 'image', 'import', rootfs, image))
    await rm(rootfs, { recursive: true, force: true })
    const sizes = await imageSizes(join(store, 'oci'), image)
    progress(`image ${image}: ${mib(tree.bytes)} in ${tree.files} files; tar ${mib(sizes.tarBytes)}, gzip ${mib(sizes.compressedBytes)} in ${sizes.layers} layer(s)`)

    // The pull source, pushed once (untimed).
    await run(strata(store, 'image', 'push', image))

    const results: RegistryOpResult[] = []
    const pullDir = join(dir, 'pull')
    const pullOnce = async (tool: 'strata' | 'skopeo', timed: boolean): Promise<Partial<Record<Tool, [number, number]>>> => {
      await rm(pullDir, { recursive: true, force: true })
      await mkdir(pullDir, { recursive: true })
      await run(['sync'])
      try {
        if (tool === 'strata') {
          const s = await run(strata(join(pullDir, 'root'), 'image', 'pull', image))
          return { strata: [s, timed ? await run(['sync']) : 0] }
        }
        const oci = join(pullDir, 'oci')
        const copy = await run(['skopeo', 'copy', '--src-tls-verify=false', `docker://${image}`, `oci:${oci}:x`])
        const copySync = timed ? await run(['sync']) : 0
        const unpack = await run(['umoci', 'unpack', '--image', `${oci}:x`, join(pullDir, 'bundle')])
        const unpackSync = timed ? await run(['sync']) : 0
        return { skopeo: [copy, copySync], 'skopeo+umoci': [copy + unpack, copySync + unpackSync] }
      } finally {
        await rm(pullDir, { recursive: true, force: true })
      }
    }

    progress('warm-up pulls (untimed): strata, skopeo + umoci')
    await pullOnce('strata', false)
    await pullOnce('skopeo', false)
    results.push(
      await timeOp('pull', opts.runs, ['strata', 'skopeo'], ['strata', 'skopeo', 'skopeo+umoci'], (tool) => pullOnce(tool as 'strata' | 'skopeo', true), progress, ac.signal)
    )

    const pushOnce = async (tool: 'strata' | 'skopeo', n: number): Promise<Partial<Record<Tool, [number, number]>>> => {
      await restart(true)
      const repo = `${host}/bench-${tool}-${n}:1`
      await run(['sync'])
      if (tool === 'strata') {
        await run(strata(store, 'image', 'tag', image, repo))
        await rm(join(store, 'registry-sources.json'), { force: true })
        const s = await run(strata(store, 'image', 'push', repo))
        return { strata: [s, await run(['sync'])] }
      }
      const s = await run(['skopeo', 'copy', '--dest-tls-verify=false', `oci:${join(store, 'oci')}:${image}`, `docker://${repo}`])
      return { skopeo: [s, await run(['sync'])] }
    }
    let pushN = 0
    results.push(await timeOp('push', opts.runs, ['strata', 'skopeo'], ['strata', 'skopeo'], (tool) => pushOnce(tool as 'strata' | 'skopeo', ++pushN), progress, ac.signal))

    const startups: number[] = []
    for (let i = 0; i < Math.max(3, opts.runs); i++) startups.push(await run(strata(join(dir, 'empty-store'), 'image', 'ls')))
    const strataStartup = median(startups)
    progress(`strata start-up (image ls on an empty store): ${strataStartup.toFixed(3)} s`)

    // Its own registry and image (eStargz), behind a throttled link; the registry above is stopped first.
    await registry?.stop()
    registry = undefined
    const lazyStart = opts.lazyStart && await runLazyStart({ ...opts.lazyStart, runs: opts.runs, dir: join(dir, 'lazy-start'), progress })

    return { runs: opts.runs, mib: opts.mib, files: tree.files, contentBytes: tree.bytes, ...sizes, warmup: true, strataStartup, results, lazyStart }
  } finally {
    await registry?.stop().catch((err: unknown) => { progress(`cleanup: ${(err as Error).message}`) })
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (!opts.keep) await rm(dir, { recursive: true, force: true })
    else progress(`kept ${dir} (logs: bench.log, registry.log)`)
  }
}

/**
 * Runs `once` for each driver, interleaved within each run (drift hits all
 * alike); a driver may report several tools (skopeo and skopeo+umoci come
 * from one run). A driver that fails is not run again; its tools show the error.
 */
async function timeOp (
  op: 'push' | 'pull',
  runs: number,
  drivers: readonly Tool[],
  reported: readonly Tool[],
  once: (driver: Tool) => Promise<Partial<Record<Tool, [number, number]>>>,
  progress: (line: string) => void,
  signal: AbortSignal
): Promise<RegistryOpResult> {
  const r: RegistryOpResult = { op, runs: {}, median: {}, ratio: {}, syncAfter: {}, errors: {} }
  const syncs: Partial<Record<Tool, number[]>> = {}
  const failed = new Set<Tool>()
  for (let i = 1; i <= runs; i++) {
    for (const d of drivers) {
      if (failed.has(d)) continue
      try {
        const got = await once(d)
        for (const [tool, [s, sync]] of Object.entries(got) as [Tool, [number, number]][]) {
          (r.runs[tool] ??= []).push(s);
          (syncs[tool] ??= []).push(sync)
          progress(`${op} ${tool} run ${i}/${runs}: ${s.toFixed(3)} s (sync after: ${sync.toFixed(3)} s)`)
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason
        failed.add(d)
        const msg = (err as Error).message
        for (const t of reported) if (t === d || (d === 'skopeo' && t === 'skopeo+umoci')) r.errors[t] = msg
        progress(`${op} ${d} run ${i}/${runs}: error: ${msg}`)
      }
    }
  }
  for (const t of reported) {
    if (!r.errors[t] && r.runs[t]?.length) {
      r.median[t] = median(r.runs[t])
      r.syncAfter[t] = median(syncs[t]!)
    }
  }
  for (const t of reported) {
    if (t !== 'strata' && r.median.strata !== undefined && r.median[t]) r.ratio[t] = r.median.strata / r.median[t]
  }
  return r
}

/** Layer sizes of `name` in an OCI layout (by its ref.name annotation). */
async function imageSizes (oci: string, name: string): Promise<{ tarBytes: number; compressedBytes: number; layers: number }> {
  type Desc = { digest: string; size: number; annotations?: Record<string, string> }
  const blob = (d: string): string => join(oci, 'blobs', ...d.split(':'))
  const index = JSON.parse(await readFile(join(oci, 'index.json'), 'utf8')) as { manifests: Desc[] }
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name)
  if (!desc) throw new Error(`${name} is not in ${oci}/index.json`)
  const manifest = JSON.parse(await readFile(blob(desc.digest), 'utf8')) as { layers: Desc[] }
  let tarBytes = 0
  for (const l of manifest.layers) {
    await new Promise<void>((res, rej) => {
      const gz = createGunzip()
      gz.on('data', (c: Buffer) => (tarBytes += c.length))
      gz.on('end', res).on('error', rej)
      createReadStream(blob(l.digest)).on('error', rej).pipe(gz)
    })
  }
  return { tarBytes, compressedBytes: manifest.layers.reduce((s, l) => s + l.size, 0), layers: manifest.layers.length }
}

function mib (bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`
}

async function claimWorkDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  if ((await readdir(dir)).length && !existsSync(join(dir, MARKER))) {
    throw new Error(`${dir} is not empty and was not made by the registry bench; pick another --dir`)
  }
  // A kept dir from an earlier run: start over.
  for (const e of await readdir(dir)) await rm(join(dir, e), { recursive: true, force: true })
  await writeFile(join(dir, MARKER), '')
}
