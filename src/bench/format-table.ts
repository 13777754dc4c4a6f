// Renders a BenchResult as the plain-text table `strata bench` prints: one row
// per operation, medians in seconds per system, then ratios to kernel. "-"
// means not run (system not selected, or no kernel median to divide by).

import type { SystemName } from './mount-system.js'
import type { BenchResult, OpResult } from './run-bench.js'

const secondsCols: readonly SystemName[] = ['kernel', 'fuse-overlayfs', 'strata']
const ratioCols: readonly SystemName[] = ['fuse-overlayfs', 'strata']

function seconds (r: OpResult, s: SystemName, selected: readonly SystemName[]): string {
  if (!selected.includes(s)) return '-'
  if (r.errors[s]) return 'error'
  return r.median[s]?.toFixed(3) ?? '-'
}

export function formatTable (result: BenchResult): string {
  const header = ['operation', ...secondsCols.map((s) => `${s} s`), ...ratioCols.map((s) => `${s}/kernel`)]
  const rows = result.results.map((r) => [
    r.op,
    ...secondsCols.map((s) => seconds(r, s, result.systems)),
    ...ratioCols.map((s) => (r.ratio[s] !== undefined ? `${r.ratio[s].toFixed(2)}x` : '-')),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  const errors = result.results.flatMap((r) => Object.entries(r.errors).map(([s, e]) => `  ${r.op} on ${s}: ${e}`))
  return [
    `medians of ${result.runs} run(s); ${result.treeFiles} files in the tree, big file ${result.bigMib} MiB;`,
    'cold = fresh mount + drop_caches; warm = same, then one untimed run',
    '',
    line(header),
    ...rows.map(line),
    ...(errors.length ? ['', 'errors:', ...errors] : []),
  ].join('\n')
}
