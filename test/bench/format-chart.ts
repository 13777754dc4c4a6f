// The chart and table writers on a fixed BenchResult: the SVG is well-formed
// XML (xmllint, Debian's libxml2-utils), has one bar per system per row that
// has a value, the kernel at 1.0 and the others at their ratios, labels that
// survive XML escaping, and the table carries every row, the strata/fuse-
// overlayfs column, the layer-count growth, the host's steal per row and
// the CPU seconds of the command rows.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { formatChart, escapeXml } from '../../src/bench/format-chart.js'
import { formatTable, layerGrowth } from '../../src/bench/format-table.js'
import type { BenchResult, OpResult } from '../../src/bench/run-bench.js'
import { QUICK_SIZES } from '../../src/bench/build-layers.js'
import type { SystemName } from '../../src/bench/mount-system.js'

const all: SystemName[] = ['kernel', 'fuse-overlayfs', 'strata']

function row (op: string, median: Partial<Record<SystemName, number>>, extra: Partial<OpResult> = {}): OpResult {
  const systems = extra.systems ?? all
  const ratio: Partial<Record<SystemName, number>> = {}
  for (const s of systems) if (median[s] !== undefined && median.kernel) ratio[s] = median[s] / median.kernel
  return { op, cache: 'cold', unit: 's', systems, runs: {}, median, ratio, errors: {}, ...extra }
}

const result: BenchResult = {
  systems: all,
  runs: 3,
  sizes: QUICK_SIZES,
  treeFiles: 2000,
  steal: 0.04,
  results: [
    row('seqread-cold', { kernel: 0.2, 'fuse-overlayfs': 0.22, strata: 0.26 }, { target: { kernel: 1.1 }, steal: 0.02, cpuMedian: { kernel: 0.1, 'fuse-overlayfs': 0.4, strata: 0.3 } }),
    row('ls <dir> & "x"', { kernel: 0.02, 'fuse-overlayfs': 0.166, strata: 0.3 }, { steal: 0.125 }),
    row('copyup-big', { kernel: 0.354, strata: 0.39 }, { errors: { 'fuse-overlayfs': 'exit 1: boom' } }),
    row('daemon-peak-rss', { 'fuse-overlayfs': 30, strata: 174 }, { unit: 'MiB', systems: ['fuse-overlayfs', 'strata'], target: { max: 60 } }),
    row('find-cold-1L', { kernel: 0.13, 'fuse-overlayfs': 0.28, strata: 0.34 }, { layers: 1 }),
    row('find-cold-32L', { kernel: 0.56, 'fuse-overlayfs': 1.09, strata: 1.36 }, { layers: 32 }),
  ],
}

const xmllint = (() => {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

t.test('the chart is well-formed XML with a bar per system per value', async (t) => {
  const svg = formatChart(result)
  if (xmllint) {
    // --noout prints nothing and exits 0 only for well-formed input.
    t.doesNotThrow(() => execFileSync('xmllint', ['--noout', '-'], { input: svg, stdio: ['pipe', 'ignore', 'pipe'] }), 'xmllint accepts it')
  } else {
    t.fail('xmllint missing: scripts/setup installs libxml2-utils')
  }
  const bars = [...svg.matchAll(/<rect [^>]*class="bar"[^>]*data-op="([^"]*)" data-system="([^"]*)" data-value="([^"]*)"/g)]
    .map((m) => ({ op: m[1], system: m[2], value: Number(m[3]) }))
  // 3 + 3 + 2 (fuse-overlayfs failed) + 2 (no kernel) + 3 + 3
  t.equal(bars.length, 16)
  const bar = (op: string, system: string): number | undefined => bars.find((b) => b.op === op && b.system === system)?.value
  t.equal(bar('seqread-cold', 'kernel'), 1, 'kernel drawn at 1.0')
  t.equal(bar('seqread-cold', 'strata'), 0.26 / 0.2, 'strata at its ratio')
  t.equal(bar('copyup-big', 'fuse-overlayfs'), undefined, 'no bar for an error')
  t.match(svg, /copyup-big on fuse-overlayfs: error|fuse-overlayfs: error/, 'the error is labelled')
  t.equal(bar('daemon-peak-rss', 'strata'), 174, 'RSS in MiB, absolute')
  t.match(svg, />174\.0 MiB</)
  t.match(svg, /kernel = 1\.0/)
  t.match(svg, new RegExp(escapeXml('ls <dir> & "x"').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'label escaped')
  t.notMatch(svg, /ls <dir>/, 'no raw markup from labels')
  t.notMatch(svg, /(href|src)=/, 'no external assets')
  t.match(svg, /class="target" data-op="seqread-cold" data-target="1.1"/, 'target tick on a kernel-multiple row')
  t.match(svg, /class="target" data-op="daemon-peak-rss" data-target="60"/, 'target tick on an absolute row')

  // Log scale: a bar's width grows with the log of its ratio, so 1.0 lies
  // where the dashed kernel line is.
  const widths = new Map([...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*data-op="seqread-cold" data-system="kernel"/g)].map((m) => ['k', Number(m[1]) + Number(m[2])]))
  const line = /<line x1="([\d.]+)"[^>]*class="kernel-line"/.exec(svg)
  t.ok(line, 'kernel line drawn')
  t.ok(Math.abs((widths.get('k') ?? 0) - Number(line?.[1])) < 0.2, 'kernel bar ends on the kernel line')
})

t.test('the table lists every row, ratios and layer growth', async (t) => {
  const text = formatTable(result)
  for (const r of result.results) t.match(text, r.op)
  const seq = text.split('\n').find((l) => l.startsWith('seqread-cold')) ?? ''
  t.match(seq, /0\.200\s+0\.220\s+0\.260\s+1\.10x\s+1\.30x\s+1\.18x\s+fo, 1\.1x k\s+no\s+2%$/)
  const ls = text.split('\n').find((l) => l.startsWith('ls <dir>')) ?? ''
  t.match(ls, /fo\s+no\s+13%$/, 'slower than fuse-overlayfs misses even without an own target')
  t.match(text, /strata meets its target on 1 of 6 rows/)
  const rss = text.split('\n').find((l) => l.startsWith('daemon-peak-rss')) ?? ''
  t.match(rss, /MiB\s+-\s+30\.0\s+174\.0\s+-\s+-\s+5\.80x/)
  t.match(text, /copyup-big on fuse-overlayfs: exit 1: boom/)
  t.match(text, /find-cold\s+4\.31x\s+3\.89x\s+4\.00x\s+no/)
})

t.test('the table says how much the host stole, and which rows it spoiled', async (t) => {
  const text = formatTable(result)
  t.match(text, /hypervisor took 4% of this machine's CPU time during the measurements; over 5% on 1 row\(s\)/)
  const rss = text.split('\n').find((l) => l.startsWith('daemon-peak-rss')) ?? ''
  t.match(rss, /\s-$/, 'a row without a steal reading shows -')
  const cpu = text.split('\n').slice(text.split('\n').findIndex((l) => l.startsWith('CPU seconds')))
  t.match(cpu.find((l) => l.startsWith('seqread-cold')) ?? '', /0\.10\s+0\.40\s+0\.30\s+0\.75x$/, 'CPU medians and strata/fuse-overlayfs')
  t.notOk(cpu.some((l) => l.startsWith('ls <dir>')), 'only rows with CPU readings are listed')
  const quiet = formatTable({ ...result, steal: 0.01, results: result.results.map((r) => ({ ...r, steal: 0.01, cpuMedian: undefined })) })
  t.match(quiet, /took 1% of this machine's CPU time during the measurements\n/, 'no rows named when none was over')
  t.notMatch(quiet, /CPU seconds/, 'no CPU table without CPU readings')
  t.notMatch(formatTable({ ...result, steal: undefined }), /hypervisor/, 'a saved result without steal prints no steal line')
})

t.test('layerGrowth divides the most lowers by the fewest, per workload', async (t) => {
  const g = layerGrowth(result)
  t.equal(g.length, 1)
  t.equal(g[0].workload, 'find-cold')
  t.same([g[0].from, g[0].to], [1, 32])
  t.equal(g[0].growth.strata, 1.36 / 0.34)
  t.equal(g[0].growth.kernel, 0.56 / 0.13)
})
