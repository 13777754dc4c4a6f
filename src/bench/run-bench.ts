// Library entry of `strata bench`: builds the layers, then measures every
// row on every system it applies to, interleaving systems within each run so
// that drift over the session hits all of them alike, and returns medians and
// ratios to kernel overlayfs. Printing is the caller's job (format-table.ts,
// format-chart.ts).
// Invariants: every mount made here is unmounted before runBench settles,
// also on error and on SIGINT/SIGTERM; the work dir is only ever one this
// bench created (marker file), and is not deleted while anything is mounted
// under it.

import { existsSync } from 'node:fs'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { buildLayers, type Layout, type Sizes } from './build-layers.js'
import { fuseConnection, isMounted, listMounts, mountArgv, mountHandle, mountSystem, strataBin, unmountArgv, type Mount, type MountSpec, type SystemName } from './mount-system.js'
import { LAYER_COUNTS, operations, opSystems, opUnit, statWalk, tarUsr, type Operation, type Target, type Unit } from './operations.js'
import { daemonPids, peakRssMiB } from './daemon-peak-rss.js'
import { RequestCounter, requestCountingUnavailable } from './request-counter.js'
import { timedSpawn } from './timed-spawn.js'
import { childrenCpuSeconds, hostTicks, processCpuSeconds, stealShare, type HostTicks } from './cpu-clock.js'
import { median } from './median.js'
import { endSpares, spareWaiting } from '../fuse/spare-processes.js'

export interface BenchOptions {
  runs: number;
  sizes: Sizes;
  /** operation names; default all */
  only?: readonly string[];
  systems: readonly SystemName[];
  dir: string;
  keep: boolean;
  /** also count each FUSE system's requests per command row, in one more run outside the timed ones */
  requests?: boolean;
  /** progress lines; default stderr */
  progress?: (line: string) => void;
}

export interface OpResult {
  op: string;
  cache: 'cold' | 'warm';
  /** seconds, or MiB for the peak RSS row */
  unit: Unit;
  /** lower count of a layer-count row */
  layers?: number;
  /** issue 9's target for strata on the row (judge.ts) */
  target?: Target;
  /** the systems the row was run on */
  systems: SystemName[];
  /** value of each run, in order; a system with an error has fewer */
  runs: Partial<Record<SystemName, number[]>>;
  median: Partial<Record<SystemName, number>>;
  /** median / kernel median */
  ratio: Partial<Record<SystemName, number>>;
  errors: Partial<Record<SystemName, string>>;
  /** with `requests`: FUSE requests by opcode in one run (request-counter.ts) */
  requests?: Partial<Record<SystemName, Record<string, number>>>;
  /** command rows: CPU seconds of each run, the command's and the FUSE daemon's (cpu-clock.ts) */
  cpuRuns?: Partial<Record<SystemName, number[]>>;
  cpuMedian?: Partial<Record<SystemName, number>>;
  /** the host's steal as a share of CPU time over the row's measurements */
  steal?: number;
}

export interface BenchResult {
  systems: SystemName[];
  runs: number;
  sizes: Sizes;
  treeFiles: number;
  results: OpResult[];
  /** the host's steal as a share of CPU time over all measurements */
  steal?: number;
}

/** One measurement: its value, and for a command row the CPU seconds it took. */
interface Sample {
  value: number;
  cpu?: number;
}

/** Steal and total ticks summed over measurements (not over the untimed work between them). */
class StealTally {
  steal = 0
  total = 0
  add (from: HostTicks, to: HostTicks): void {
    this.steal += to.steal - from.steal
    this.total += to.total - from.total
  }

  get share (): number | undefined {
    return this.total > 0 ? this.steal / this.total : undefined
  }
}

/** Failures after which no further measurement can be trusted. */
class FatalError extends Error {}

const MARKER = '.strata-bench'

export async function runBench (opts: BenchOptions): Promise<BenchResult> {
  const progress = opts.progress ?? ((line: string) => process.stderr.write(line + '\n'))
  if (process.getuid?.() !== 0) throw new Error('strata bench must run as root (mount, mknod, drop_caches)')
  const ops = selectOps(opts.only)
  const noCounting = opts.requests ? requestCountingUnavailable() : undefined
  if (noCounting) throw new Error(`--requests: ${noCounting}`)
  const dir = resolve(opts.dir)
  await claimWorkDir(dir)

  const ac = new AbortController()
  const onSignal = (sig: NodeJS.Signals): void => {
    progress(`${sig}: stopping, unmounting, cleaning up`)
    ac.abort(new Error(`interrupted by ${sig}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const live = new Set<Mount>()
  const log = join(dir, 'bench.log')
  // strata's commands get a run dir of the bench's own, and no spare daemon
  // (a spare boots, ~0.1 s of CPU, after each mount: that would land on the
  // next system's clock) but for the mount rows that measure one.
  const saved = { run: process.env.STRATA_RUN_DIR, spare: process.env.STRATA_SPARE }
  const strataRun = join(dir, 'strata-run')
  process.env.STRATA_RUN_DIR = strataRun
  process.env.STRATA_SPARE = '0'
  try {
    progress(`building layers in ${dir}/layers (once; reused with --keep)`)
    const layout = await buildLayers(join(dir, 'layers'), opts.sizes, LAYER_COUNTS, log, ac.signal)
    const results: OpResult[] = []
    const allSteal = new StealTally()
    for (const op of ops) {
      const systems = opSystems(op, opts.systems)
      const r: OpResult = {
        op: op.name, cache: op.cache, unit: opUnit(op), ...(op.layers ? { layers: op.layers } : {}), ...(op.target ? { target: op.target } : {}), systems, runs: {}, median: {}, ratio: {}, errors: {},
      }
      const rowSteal = new StealTally()
      for (let run = 1; run <= opts.runs; run++) {
        for (const system of systems) {
          if (r.errors[system]) continue
          try {
            const t0 = await hostTicks()
            const s = await measure(op, system, layout, join(dir, 'run'), log, live, ac.signal, undefined, strataRun)
            const t1 = await hostTicks()
            rowSteal.add(t0, t1)
            allSteal.add(t0, t1);
            (r.runs[system] ??= []).push(s.value)
            if (s.cpu !== undefined) ((r.cpuRuns ??= {})[system] ??= []).push(s.cpu)
            const cpu = s.cpu !== undefined ? `, CPU ${s.cpu.toFixed(2)} s` : ''
            progress(`${op.name} ${system} run ${run}/${opts.runs}: ${s.value.toFixed(3)} ${r.unit}${cpu}, steal ${percent(stealShare(t0, t1))}`)
          } catch (err) {
            if (ac.signal.aborted) throw ac.signal.reason
            if (err instanceof FatalError) throw err
            r.errors[system] = (err as Error).message
            progress(`${op.name} ${system} run ${run}/${opts.runs}: error: ${r.errors[system]}`)
          }
        }
      }
      if (opts.requests && op.kind === 'command') {
        for (const system of systems.filter((s) => s !== 'kernel' && !r.errors[s])) {
          const counted = (counts: Record<string, number>): void => { (r.requests ??= {})[system] = counts }
          try {
            await measure(op, system, layout, join(dir, 'run'), log, live, ac.signal, counted)
            progress(`${op.name} ${system} requests: ${Object.values(r.requests?.[system] ?? {}).reduce((a, b) => a + b, 0)}`)
          } catch (err) {
            if (ac.signal.aborted) throw ac.signal.reason
            if (err instanceof FatalError) throw err
            progress(`${op.name} ${system} requests: error: ${(err as Error).message}`)
          }
        }
      }
      for (const system of systems) {
        const runs = r.runs[system]
        if (!r.errors[system] && runs) r.median[system] = median(runs)
        const cpu = r.cpuRuns?.[system]
        if (!r.errors[system] && cpu) (r.cpuMedian ??= {})[system] = median(cpu)
      }
      if (rowSteal.share !== undefined) r.steal = rowSteal.share
      for (const system of systems) {
        if (r.median[system] !== undefined && r.median.kernel) r.ratio[system] = r.median[system] / r.median.kernel
      }
      results.push(r)
    }
    return { systems: [...opts.systems], runs: opts.runs, sizes: opts.sizes, treeFiles: layout.treeFiles, results, ...(allSteal.share !== undefined ? { steal: allSteal.share } : {}) }
  } finally {
    for (const m of live) await m.unmount().catch((err: unknown) => { progress(`cleanup: ${(err as Error).message}`) })
    await endSpares(strataRun)
    for (const [k, v] of [['STRATA_RUN_DIR', saved.run], ['STRATA_SPARE', saved.spare]] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (!opts.keep) await removeWorkDir(dir, progress)
  }
}

const percent = (x: number): string => `${(100 * x).toFixed(0)}%`

function selectOps (only: readonly string[] | undefined): readonly Operation[] {
  if (!only?.length) return operations
  const unknown = only.filter((n) => !operations.some((op) => op.name === n))
  if (unknown.length) throw new Error(`unknown operation(s) ${unknown.join(', ')}; known: ${operations.map((op) => op.name).join(', ')}`)
  return operations.filter((op) => only.includes(op.name))
}

/** One measurement on a fresh mount (none for `version`); see operations.ts for the cache protocol. */
async function measure (op: Operation, system: SystemName, layout: Layout, runDir: string, log: string, live: Set<Mount>, signal: AbortSignal,
  counted?: (counts: Record<string, number>) => void, strataRun = ''): Promise<Sample> {
  if (op.kind === 'version') {
    const argv = [system === 'strata' ? strataBin : system, '--version']
    await timedSpawn(argv, { log, signal })
    return { value: await timedSpawn(argv, { log, signal }) }
  }
  const lowers = op.layers ? layout.layerSets[op.layers] : layout.lowers
  const spec = { lowers, upper: join(runDir, 'upper'), work: join(runDir, 'work'), mnt: join(runDir, 'mnt'), log }
  const ctx = { mnt: spec.mnt, layout }
  if ((await listMounts()).some((m) => m.mnt.startsWith(runDir + '/'))) throw new FatalError(`a mount is left under ${runDir}`)
  const spare = system === 'strata' && (op.kind === 'mount' || op.kind === 'umount') && !op.cold
  const env = spare ? { ...process.env, STRATA_SPARE: '1' } : undefined
  if (op.kind === 'mount') {
    // strata's spare daemon boots as the warm-up's mount ends: it is waited
    // for, as a container started now and then would find it.
    // Warm, like a container start: one mount and unmount first puts the
    // binaries (and V8's code cache, if the system keeps one) in memory.
    await timedMount(system, spec, live, signal, env)
    if (spare && !(await spareWaiting(strataRun, 10_000))) throw new Error(`no spare daemon waits in ${strataRun}/spares 10 s after a mount`)
    const s = await timedMount(system, spec, live, signal, env)
    // The next spare boots as this mount ends: not on the next system's clock.
    if (spare) await spareWaiting(strataRun, 10_000)
    return { value: s }
  }
  if (spare && !(await spareWaiting(strataRun, 0))) {
    // The umount row's spare: booted as a throwaway mount ends.
    await timedMount(system, spec, live, signal, env)
    if (!(await spareWaiting(strataRun, 10_000))) throw new Error(`no spare daemon waits in ${strataRun}/spares 10 s after a mount`)
  }
  return await withMount(system, spec, live, signal, async () => {
    // sync also flushes what the previous run left dirty, outside any timing.
    await timedSpawn(['sync'], { log, signal, timeoutMs: 300_000 })
    await writeFile('/proc/sys/vm/drop_caches', '3')
    switch (op.kind) {
      case 'command': {
        const argv = op.argv(ctx)
        if (op.cache === 'warm') await timedSpawn(argv, { log, signal })
        if (!counted) return await clocked(system === 'kernel' ? [] : await servingPids(spec.mnt), async () => await timedSpawn(argv, { log, signal }))
        const conn = await fuseConnection(spec.mnt)
        if (conn === undefined) throw new Error(`${spec.mnt} is not a FUSE mount`)
        const counter = await RequestCounter.start(conn)
        try {
          return { value: await timedSpawn(argv, { log, signal }) }
        } finally {
          counted(await counter.stop())
        }
      }
      case 'umount': {
        await timedSpawn(['ls', '-a', spec.mnt], { log, signal })
        const s = await timedSpawn(unmountArgv(system, spec.mnt), { log, signal, env })
        if (await isMounted(spec.mnt)) throw new Error(`${spec.mnt} is still mounted after ${unmountArgv(system, spec.mnt).join(' ')}`)
        return { value: s }
      }
      case 'peak-rss': {
        const pids = await servingPids(spec.mnt)
        await timedSpawn(statWalk(ctx), { log, signal })
        await timedSpawn(tarUsr(ctx), { log, signal })
        return { value: await peakRssMiB(pids) }
      }
      default:
        throw new Error(`${op.name}: not measured on a mount`)
    }
  })
}

async function servingPids (mnt: string): Promise<number[]> {
  const pids = await daemonPids(mnt)
  if (!pids.length) throw new Error(`no process with /dev/fuse open names ${mnt} in its argv`)
  return pids
}

/**
 * Times `run` and adds up the CPU it cost: the command's (our children's
 * clock) and that of the FUSE daemon `pids` serving the mount.
 */
async function clocked (pids: readonly number[], run: () => Promise<number>): Promise<Sample> {
  const daemonCpu = async (): Promise<number> => (await Promise.all(pids.map(processCpuSeconds))).reduce((a, b) => a + b, 0)
  const [c0, d0] = [await childrenCpuSeconds(), await daemonCpu()]
  const value = await run()
  const [c1, d1] = [await childrenCpuSeconds(), await daemonCpu()]
  return { value, cpu: c1 - c0 + d1 - d0 }
}

async function freshDirs (spec: MountSpec): Promise<void> {
  if (await isMounted(spec.mnt)) throw new FatalError(`${spec.mnt} is already mounted`)
  for (const d of [spec.upper, spec.work]) await rm(d, { recursive: true, force: true })
  for (const d of [spec.upper, spec.work, spec.mnt]) await mkdir(d, { recursive: true })
}

/** An unmount failure leaves the machine in a state no later measurement can trust. */
async function release (mount: Mount, live: Set<Mount>): Promise<void> {
  live.delete(mount)
  await mount.unmount().catch((err: unknown) => {
    throw new FatalError((err as Error).message)
  })
}

/** Runs `body` on a fresh mount of `system` (fresh upper and work dirs), unmounting after, also on failure. */
async function withMount<T> (system: SystemName, spec: MountSpec, live: Set<Mount>, signal: AbortSignal, body: () => Promise<T>): Promise<T> {
  await freshDirs(spec)
  const mount = await mountSystem(system, spec, signal)
  live.add(mount)
  try {
    return await body()
  } finally {
    await release(mount, live)
  }
}

/** Seconds from starting the mount command until a listing of the new mount's root answers; unmounts after. */
async function timedMount (system: SystemName, spec: MountSpec, live: Set<Mount>, signal: AbortSignal, env?: NodeJS.ProcessEnv): Promise<number> {
  await freshDirs(spec)
  const mount = mountHandle(system, spec)
  live.add(mount)
  try {
    // One shell runs both, so nothing of ours sits between the two.
    const probe = ['sh', '-c', 'm=$1; shift; "$@" && exec ls -a -- "$m" > /dev/null', 'sh', spec.mnt, ...mountArgv(system, spec)]
    return await timedSpawn(probe, { log: spec.log, signal, env, timeoutMs: 60_000 })
  } finally {
    await release(mount, live)
  }
}

async function claimWorkDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  if ((await readdir(dir)).length && !existsSync(join(dir, MARKER))) {
    throw new Error(`${dir} is not empty and was not made by strata bench; pick another --dir`)
  }
  if ((await listMounts()).some((m) => m.mnt.startsWith(dir + '/'))) {
    throw new Error(`something is mounted under ${dir} (a previous bench?); unmount it first`)
  }
  await writeFile(join(dir, MARKER), '')
}

async function removeWorkDir (dir: string, progress: (line: string) => void): Promise<void> {
  // rm -r would descend into a mount and delete through it.
  if ((await listMounts()).some((m) => m.mnt.startsWith(dir + '/'))) {
    progress(`not removing ${dir}: something is still mounted under it`)
    return
  }
  await rm(dir, { recursive: true, force: true })
}
