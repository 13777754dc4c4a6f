// Renders a BenchResult as the plain-text table `strata bench` prints: one row
// per measurement, medians per system (seconds, or MiB for the RSS row), then
// ratios to the kernel and strata's ratio to fuse-overlayfs (target 1 of
// issue 9 reads off that column); then, for the layer-count rows, how much
// each system's time grows from the fewest lowers to the most. The last two
// columns judge strata by issue 9's target for the row (judge.ts): "fo" is
// "no slower than fuse-overlayfs", "1.5x k" a multiple of the kernel.
// The steal column is the host's (cpu-clock.ts) over the row's runs; after
// the table, the CPU seconds of each command row, which steal leaves alone.
// "-" means not run (system not selected or the row not meant for it, or no
// median to divide by); "error" means the system failed that row (listed below).

import type { SystemName } from './mount-system.js'
import type { BenchResult, OpResult } from './run-bench.js'
import { judge, targetText } from './judge.js'

const valueCols: readonly SystemName[] = ['kernel', 'fuse-overlayfs', 'strata']

function value (r: OpResult, s: SystemName): string {
  if (!r.systems.includes(s)) return '-'
  if (r.errors[s]) return 'error'
  return r.median[s]?.toFixed(r.unit === 'MiB' ? 1 : 3) ?? '-'
}

const times = (x: number | undefined): string => (x !== undefined && Number.isFinite(x) ? `${x.toFixed(2)}x` : '-')

export interface LayerGrowth {
  /** the workload, without its -NL suffix */
  workload: string
  from: number
  to: number
  /** median at `to` lowers / median at `from` lowers */
  growth: Partial<Record<SystemName, number>>
}

/** For each layer-count workload, each system's median at the most lowers over its median at the fewest. */
export function layerGrowth (result: BenchResult): LayerGrowth[] {
  const byWorkload = new Map<string, OpResult[]>()
  for (const r of result.results) {
    if (r.layers === undefined) continue
    const workload = r.op.replace(/-\d+L$/, '')
    byWorkload.set(workload, [...(byWorkload.get(workload) ?? []), r])
  }
  const out: LayerGrowth[] = []
  for (const [workload, rows] of byWorkload) {
    if (rows.length < 2) continue
    const sorted = [...rows].sort((a, b) => (a.layers ?? 0) - (b.layers ?? 0))
    const lo = sorted[0]
    const hi = sorted[sorted.length - 1]
    const growth: Partial<Record<SystemName, number>> = {}
    for (const s of valueCols) {
      const a = lo.median[s]
      const b = hi.median[s]
      if (a !== undefined && b !== undefined && a > 0) growth[s] = b / a
    }
    out.push({ workload, from: lo.layers ?? 0, to: hi.layers ?? 0, growth })
  }
  return out
}

const total = (c: Record<string, number> | undefined): number | undefined => (c ? Object.values(c).reduce((a, b) => a + b, 0) : undefined)

/** Opcodes by count, most first: "LOOKUP 20012, GETATTR 30". */
export function topOpcodes (c: Record<string, number> | undefined, n = 4): string {
  if (!c) return '-'
  return Object.entries(c).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n).map(([op, k]) => `${op} ${k}`).join(', ') || '0'
}

function requestLines (result: BenchResult): string[] {
  const rows = result.results.filter((r) => r.requests)
  if (!rows.length) return []
  const fo = (r: OpResult): number | undefined => total(r.requests?.['fuse-overlayfs'])
  const st = (r: OpResult): number | undefined => total(r.requests?.strata)
  return ['', 'FUSE requests in one more run of each row (kernel tracepoint fuse_request_send; not timed)',
    ...columns(['operation', 'fuse-overlayfs', 'strata', 'strata/fuse-overlayfs', 'strata: most frequent', 'fuse-overlayfs: most frequent'],
      rows.map((r) => {
        const a = fo(r)
        const b = st(r)
        return [r.op, String(a ?? '-'), String(b ?? '-'), times(a && b !== undefined ? b / a : undefined), topOpcodes(r.requests?.strata), topOpcodes(r.requests?.['fuse-overlayfs'])]
      }))]
}

const percent = (x: number | undefined): string => (x !== undefined ? `${(100 * x).toFixed(0)}%` : '-')

/** Above this share of steal, a row's wall times say more about the host than about the systems. */
export const NOISY_STEAL = 0.05

function stealLines (result: BenchResult): string[] {
  if (result.steal === undefined) return []
  const noisy = result.results.filter((r) => (r.steal ?? 0) > NOISY_STEAL).map((r) => r.op)
  return ['', `steal: the hypervisor took ${percent(result.steal)} of this machine's CPU time during the measurements` +
    (noisy.length ? `; over ${percent(NOISY_STEAL)} on ${noisy.length} row(s): their wall times are inflated, unevenly across systems (see the CPU seconds)` : '')]
}

function cpuLines (result: BenchResult): string[] {
  const rows = result.results.filter((r) => r.cpuMedian)
  if (!rows.length) return []
  const cpu = (r: OpResult, s: SystemName): string => (!r.systems.includes(s) ? '-' : r.errors[s] ? 'error' : r.cpuMedian?.[s]?.toFixed(2) ?? '-')
  return ['', 'CPU seconds per run, medians: the command\'s user + system time and the FUSE daemon\'s (the kernel overlay works in the command); steal does not inflate them',
    ...columns(['operation', ...valueCols, 'strata/fuse-overlayfs'], rows.map((r) => {
      const fo = r.cpuMedian?.['fuse-overlayfs']
      const st = r.cpuMedian?.strata
      return [r.op, ...valueCols.map((s) => cpu(r, s)), times(fo && st !== undefined ? st / fo : undefined)]
    }))]
}

function columns (header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(header), ...rows.map(line)]
}

export function formatTable (result: BenchResult): string {
  const z = result.sizes
  const header = ['operation', 'unit', ...valueCols, 'fuse-overlayfs/kernel', 'strata/kernel', 'strata/fuse-overlayfs', 'target', 'met', 'steal']
  let judged = 0
  let met = 0
  const rows = result.results.map((r) => {
    const fo = r.median['fuse-overlayfs']
    const st = r.median.strata
    const v = judge(r)
    if (v) judged++
    if (v?.met) met++
    return [
      r.op, r.unit, ...valueCols.map((s) => value(r, s)),
      times(r.ratio['fuse-overlayfs']), times(r.ratio.strata), times(fo !== undefined && st !== undefined ? st / fo : undefined),
      targetText(r), v ? (v.met ? 'yes' : 'no') : '-', percent(r.steal),
    ]
  })
  const growth = layerGrowth(result)
  const growthMet = (g: LayerGrowth): string => {
    const st = g.growth.strata
    const fo = g.growth['fuse-overlayfs']
    return st === undefined || fo === undefined ? '-' : st <= fo ? 'yes' : 'no'
  }
  const growthLines = growth.length
    ? ['', `layer count: median at the most lowers / at the fewest (${growth[0].from} -> ${growth[0].to}); target: strata grows no faster than fuse-overlayfs`,
        ...columns(['workload', ...valueCols, 'met'], growth.map((g) => [g.workload, ...valueCols.map((s) => times(g.growth[s])), growthMet(g)]))]
    : []
  const errors = result.results.flatMap((r) => Object.entries(r.errors).map(([s, e]) => `  ${r.op} on ${s}: ${e}`))
  return [
    `medians of ${result.runs} run(s); main tree ${result.treeFiles} files over 2 lowers, big file ${z.bigMib} MiB, big dir ${z.dirEntries} entries,`,
    `untar ${z.tarFiles} files, copy-up/delete ${z.touchFiles} files; layer-count tree ${z.layerTreeFiles} files (rows -NL: over N lowers)`,
    'cold = fresh mount + drop_caches; warm = same, then one untimed run; mount = command until a listing of the root answers',
    '',
    ...columns(header, rows),
    ...(judged ? ['', `strata meets its target on ${met} of ${judged} rows`] : []),
    ...stealLines(result),
    ...growthLines,
    ...cpuLines(result),
    ...requestLines(result),
    ...(errors.length ? ['', 'errors:', ...errors] : []),
  ].join('\n')
}
