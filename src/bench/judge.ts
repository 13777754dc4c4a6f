// Applies issue 9's targets to one row's medians: strata no slower than
// fuse-overlayfs (every row), and within the row's own target (a multiple of
// the kernel, or an absolute bound). Pure: it judges the numbers it is given,
// so a row is judged only as well as its medians were measured.

import type { OpResult } from './run-bench.js'

export interface Verdict {
  met: boolean
  /** what was missed, e.g. "1.30x fuse-overlayfs", "2.10x kernel > 1.5x" */
  misses: string[]
}

/** undefined when strata was not run on the row; a strata error is a miss. */
export function judge (r: OpResult): Verdict | undefined {
  if (!r.systems.includes('strata')) return undefined
  if (r.errors.strata) return { met: false, misses: ['error'] }
  const st = r.median.strata
  if (st === undefined) return undefined
  const misses: string[] = []
  const fo = r.median['fuse-overlayfs']
  if (fo !== undefined && st > fo) misses.push(`${(st / fo).toFixed(2)}x fuse-overlayfs`)
  const k = r.median.kernel
  const t = r.target
  if (t?.kernel !== undefined && k !== undefined && k > 0 && st / k > t.kernel) misses.push(`${(st / k).toFixed(2)}x kernel > ${t.kernel}x`)
  if (t?.max !== undefined && st > t.max) misses.push(`${st.toFixed(r.unit === 'MiB' ? 1 : 3)} > ${t.max} ${r.unit}`)
  return { met: misses.length === 0, misses }
}

/** The target as the table shows it: always "<= fo", then the row's own. */
export function targetText (r: OpResult): string {
  const t = r.target
  const own = t?.kernel !== undefined ? `${t.kernel}x k` : t?.max !== undefined ? `${t.max} ${r.unit}` : ''
  return own ? `fo, ${own}` : 'fo'
}
