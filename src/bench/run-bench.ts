// Library entry of `strata bench`: builds the layers, then times every
// operation on every system, interleaving systems within each run so that
// drift over the session hits all of them alike, and returns medians and
// ratios to kernel overlayfs. Printing is the caller's job (format-table.ts).
// Invariants: every mount made here is unmounted before runBench settles,
// also on error and on SIGINT/SIGTERM; the work dir is only ever one this
// bench created (marker file), and is not deleted while anything is mounted
// under it.

import { existsSync } from 'node:fs'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { buildLayers, type Layout } from './build-layers.js'
import { listMounts, mountSystem, type Mount, type SystemName } from './mount-system.js'
import { operations, type Operation } from './operations.js'
import { timedSpawn } from './timed-spawn.js'
import { median } from './median.js'

export interface BenchOptions {
  runs: number;
  bigMib: number;
  /** operation names; default all */
  only?: readonly string[];
  systems: readonly SystemName[];
  dir: string;
  keep: boolean;
  /** progress lines; default stderr */
  progress?: (line: string) => void;
}

export interface OpResult {
  op: string;
  cache: 'cold' | 'warm';
  /** seconds of each run, in order; a system with an error has fewer */
  runs: Partial<Record<SystemName, number[]>>;
  median: Partial<Record<SystemName, number>>;
  /** median / kernel median */
  ratio: Partial<Record<SystemName, number>>;
  errors: Partial<Record<SystemName, string>>;
}

export interface BenchResult {
  systems: SystemName[];
  runs: number;
  bigMib: number;
  treeFiles: number;
  results: OpResult[];
}

/** Failures after which no further measurement can be trusted. */
class FatalError extends Error {}

const MARKER = '.strata-bench'

export async function runBench (opts: BenchOptions): Promise<BenchResult> {
  const progress = opts.progress ?? ((line: string) => process.stderr.write(line + '\n'))
  if (process.getuid?.() !== 0) throw new Error('strata bench must run as root (mount, mknod, drop_caches)')
  const ops = selectOps(opts.only)
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
  try {
    progress(`building layers in ${dir}/layers (once; reused with --keep)`)
    const layout = await buildLayers(join(dir, 'layers'), opts.bigMib, log, ac.signal)
    const results: OpResult[] = []
    for (const op of ops) {
      const r: OpResult = { op: op.name, cache: op.cache, runs: {}, median: {}, ratio: {}, errors: {} }
      for (let run = 1; run <= opts.runs; run++) {
        for (const system of opts.systems) {
          if (r.errors[system]) continue
          try {
            const s = await measure(op, system, layout, join(dir, 'run'), log, live, ac.signal);
            (r.runs[system] ??= []).push(s)
            progress(`${op.name} ${system} run ${run}/${opts.runs}: ${s.toFixed(3)} s`)
          } catch (err) {
            if (ac.signal.aborted) throw ac.signal.reason
            if (err instanceof FatalError) throw err
            r.errors[system] = (err as Error).message
            progress(`${op.name} ${system} run ${run}/${opts.runs}: error: ${r.errors[system]}`)
          }
        }
      }
      for (const system of opts.systems) {
        const runs = r.runs[system]
        if (!r.errors[system] && runs) r.median[system] = median(runs)
      }
      for (const system of opts.systems) {
        if (r.median[system] !== undefined && r.median.kernel) r.ratio[system] = r.median[system] / r.median.kernel
      }
      results.push(r)
    }
    return { systems: [...opts.systems], runs: opts.runs, bigMib: opts.bigMib, treeFiles: layout.treeFiles, results }
  } finally {
    for (const m of live) await m.unmount().catch((err: Error) => { progress(`cleanup: ${err.message}`) })
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (!opts.keep) await removeWorkDir(dir, progress)
  }
}

function selectOps (only: readonly string[] | undefined): readonly Operation[] {
  if (!only?.length) return operations
  const unknown = only.filter((n) => !operations.some((op) => op.name === n))
  if (unknown.length) throw new Error(`unknown operation(s) ${unknown.join(', ')}; known: ${operations.map((op) => op.name).join(', ')}`)
  return operations.filter((op) => only.includes(op.name))
}

/** One timed run on a fresh mount; see operations.ts for the cache protocol. */
async function measure (op: Operation, system: SystemName, layout: Layout, runDir: string, log: string, live: Set<Mount>, signal: AbortSignal): Promise<number> {
  const spec = { lowers: layout.lowers, upper: join(runDir, 'upper'), work: join(runDir, 'work'), mnt: join(runDir, 'mnt'), log }
  if ((await listMounts()).some((m) => m.mnt.startsWith(runDir + '/'))) throw new FatalError(`a mount is left under ${runDir}`)
  for (const d of [spec.upper, spec.work]) await rm(d, { recursive: true, force: true })
  for (const d of [spec.upper, spec.work, spec.mnt]) await mkdir(d, { recursive: true })
  const mount = await mountSystem(system, spec, signal)
  live.add(mount)
  try {
    // sync also flushes what the previous run left dirty, outside any timing.
    await timedSpawn(['sync'], { log, signal, timeoutMs: 300_000 })
    await writeFile('/proc/sys/vm/drop_caches', '3')
    const argv = op.argv({ mnt: spec.mnt, layout })
    if (op.cache === 'warm') await timedSpawn(argv, { log, signal })
    return await timedSpawn(argv, { log, signal })
  } finally {
    live.delete(mount)
    await mount.unmount().catch((err: Error) => {
      throw new FatalError(err.message)
    })
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
