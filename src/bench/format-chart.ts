// Renders a BenchResult as a self-contained SVG chart (no scripts, fonts or
// other external assets): a horizontal bar per system per row. Rows with a
// kernel median are drawn as multiples of it on a log scale, with the kernel
// as the 1.0 line; rows without one (daemon RSS, CLI start-up, or the kernel
// not run) follow in a second panel, in their own units, each row scaled to
// its largest value. Every bar carries its value as a label and a <title>;
// a red tick on a row marks issue 9's target for strata, where it has one.
// Written by hand: the npm chart libraries either need a DOM (d3 with jsdom)
// or are large runtimes (vega, vega-lite) for what is a few dozen rects, and
// no small dependency-free SVG bar-chart package is well kept.

import type { SystemName } from './mount-system.js'
import type { BenchResult, OpResult } from './run-bench.js'

const COLORS: Record<SystemName, string> = { kernel: '#8c8c8c', 'fuse-overlayfs': '#e69f00', strata: '#0072b2' }
const WIDTH = 980
const X0 = 200 // left edge of the plot; labels sit left of it
const X1 = WIDTH - 110 // right edge; value labels may run past it
const BAR = 10
const BAR_GAP = 2
const ROW_GAP = 10
const TICKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]

export function escapeXml (s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c)
}

const fmt = (v: number, unit: string): string => (unit === 'MiB' ? `${v.toFixed(1)} MiB` : `${v.toFixed(3)} s`)
const hasKernel = (r: OpResult): boolean => (r.median.kernel ?? 0) > 0

interface Bar { system: SystemName, value?: number, label: string }

/** The bars of one row, in the result's system order: ratios when `ratio`, else raw values. */
function barsOf (r: OpResult, systems: readonly SystemName[], ratio: boolean): Bar[] {
  return systems.filter((s) => r.systems.includes(s)).map((s) => {
    if (r.errors[s]) return { system: s, label: 'error' }
    const v = r.median[s]
    if (v === undefined) return { system: s, label: '-' }
    if (!ratio) return { system: s, value: v, label: fmt(v, r.unit) }
    if (s === 'kernel') return { system: s, value: 1, label: `1.0 (${fmt(v, r.unit)})` }
    const x = r.ratio[s] ?? v / (r.median.kernel ?? 1)
    return { system: s, value: x, label: `${x.toFixed(2)}x` }
  })
}

function rect (x: number, y: number, w: number, h: number, attrs: string, child = ''): string {
  const open = `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${h}" ${attrs}`
  return child ? `${open}>${child}</rect>` : `${open}/>`
}

function text (x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs ? ' ' + attrs : ''}>${escapeXml(s)}</text>`
}

export function formatChart (result: BenchResult): string {
  const systems = result.systems
  const ratioRows = result.results.filter(hasKernel)
  const absRows = result.results.filter((r) => !hasKernel(r))
  const out: string[] = []
  let y = 28
  out.push(text(16, y, 'strata bench: kernel overlayfs, fuse-overlayfs and strata on the same layers', 'class="title"'))
  y += 20
  const z = result.sizes
  out.push(text(16, y, `medians of ${result.runs} run(s); main tree ${result.treeFiles} files, big file ${z.bigMib} MiB; layer-count tree ${z.layerTreeFiles} files (rows -NL: over N lowers)`, 'class="note"'))
  y += 22
  systems.forEach((s, i) => {
    const x = 16 + i * 170
    out.push(rect(x, y - 10, 12, 12, `fill="${COLORS[s]}"`), text(x + 18, y, s, 'class="legend"'))
  })
  const tx = 16 + systems.length * 170
  out.push(`<line x1="${tx + 6}" y1="${y - 12}" x2="${tx + 6}" y2="${y + 3}" class="target"/>`, text(tx + 18, y, 'target for strata (issue 9)', 'class="legend"'))
  y += 20

  const rowHeight = (n: number): number => n * (BAR + BAR_GAP) - BAR_GAP + ROW_GAP
  const drawRow = (r: OpResult, bars: Bar[], top: number, scale: (v: number) => number, target?: number): void => {
    const h = rowHeight(bars.length) - ROW_GAP
    if (target !== undefined) {
      const x = scale(target).toFixed(1)
      out.push(`<line x1="${x}" y1="${top - 2}" x2="${x}" y2="${top + h + 2}" class="target" data-op="${escapeXml(r.op)}" data-target="${String(target)}"/>`)
    }
    out.push(text(X0 - 8, top + h / 2 + 4, `${r.op} (${r.cache})`, 'class="label" text-anchor="end"'))
    bars.forEach((b, i) => {
      const by = top + i * (BAR + BAR_GAP)
      const tip = `<title>${escapeXml(`${r.op} on ${b.system}: ${b.label}`)}</title>`
      if (b.value === undefined) {
        out.push(text(X0 + 4, by + BAR - 1, `${b.system}: ${b.label}`, 'class="value missing"'))
        return
      }
      const w = scale(b.value) - X0
      out.push(rect(X0, by, w, BAR, `class="bar" fill="${COLORS[b.system]}" data-op="${escapeXml(r.op)}" data-system="${b.system}" data-value="${String(b.value)}"`, tip))
      out.push(text(X0 + w + 4, by + BAR - 1, b.label, 'class="value"'))
    })
  }

  if (ratioRows.length) {
    out.push(text(16, y, 'time as a multiple of kernel overlayfs (log scale; kernel = 1.0; shorter is better)', 'class="section"'))
    y += 14
    const ratioBars = ratioRows.map((r) => barsOf(r, systems, true))
    const values = [...ratioBars.flat().flatMap((b) => (b.value !== undefined ? [b.value] : [])), ...ratioRows.flatMap((r) => (r.target?.kernel ? [r.target.kernel] : []))]
    const lo = [...TICKS].reverse().find((t) => t <= Math.min(0.5, ...values)) ?? TICKS[0]
    const hi = TICKS.find((t) => t >= Math.max(2, ...values)) ?? TICKS[TICKS.length - 1]
    const scale = (v: number): number => X0 + ((Math.log(Math.max(v, lo)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (X1 - X0)
    const top = y
    const height = ratioBars.reduce((n, b) => n + rowHeight(b.length), 0)
    for (const t of TICKS.filter((t) => t >= lo && t <= hi)) {
      out.push(`<line x1="${scale(t).toFixed(1)}" y1="${top - 4}" x2="${scale(t).toFixed(1)}" y2="${top + height}" class="grid"/>`)
      out.push(text(scale(t), top + height + 14, `${t}x`, 'class="tick" text-anchor="middle"'))
    }
    ratioRows.forEach((r, i) => {
      drawRow(r, ratioBars[i], y, scale, r.target?.kernel ?? (r.target?.max !== undefined && r.median.kernel ? r.target.max / r.median.kernel : undefined))
      y += rowHeight(ratioBars[i].length)
    })
    out.push(`<line x1="${scale(1).toFixed(1)}" y1="${top - 4}" x2="${scale(1).toFixed(1)}" y2="${top + height + 18}" class="kernel-line"/>`)
    out.push(text(scale(1) + 4, top + height + 28, 'kernel = 1.0', 'class="tick"'))
    y += 44
  }

  if (absRows.length) {
    out.push(text(16, y, 'no kernel reference: absolute values, each row scaled to its largest (shorter is better)', 'class="section"'))
    y += 14
    for (const r of absRows) {
      const bars = barsOf(r, systems, false)
      const max = Math.max(0, ...bars.flatMap((b) => (b.value !== undefined ? [b.value] : [])))
      const top = Math.max(max, r.target?.max ?? 0)
      drawRow(r, bars, y, (v) => X0 + (top > 0 ? (v / top) * (X1 - X0) : 0), r.target?.max)
      y += rowHeight(bars.length)
    }
    y += 10
  }

  const style = [
    'text { font-family: DejaVu Sans, Arial, Helvetica, sans-serif; font-size: 11px; fill: #222 }',
    '.title { font-size: 16px; font-weight: bold } .section { font-size: 13px; font-weight: bold } .note, .tick { fill: #555 }',
    '.legend { font-size: 12px } .value { font-size: 10px } .missing { fill: #b00 }',
    '.grid { stroke: #e4e4e4 } .kernel-line { stroke: #222; stroke-dasharray: 4 3 } .target { stroke: #d00; stroke-width: 2 }',
  ].join('\n')
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${Math.ceil(y)}" viewBox="0 0 ${WIDTH} ${Math.ceil(y)}">`,
    `<style>\n${style}\n</style>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${Math.ceil(y)}" fill="#fff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n')
}
