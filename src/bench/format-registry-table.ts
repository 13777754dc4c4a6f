// Renders a RegistryBenchResult as the plain-text table the registry bench
// prints: one row per operation, medians in seconds per tool, then the ratio
// of strata to each peer (< 1 means strata is faster). "-" means not
// measured (skopeo+umoci is a pull-only comparator).

import { tools, type RegistryBenchResult, type RegistryOpResult, type Tool } from './run-registry-bench.js'
import { formatLazyStart } from './lazy-start.js'

const peers: readonly Tool[] = ['skopeo', 'skopeo+umoci']

function cell (r: RegistryOpResult, t: Tool, v: Partial<Record<Tool, number>>): string {
  if (r.errors[t]) return 'error'
  return v[t]?.toFixed(3) ?? '-'
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`

export function formatRegistryTable (result: RegistryBenchResult): string {
  const header = ['operation', ...tools.map((t) => `${t} s`), ...peers.map((t) => `strata/${t}`)]
  const rows = result.results.map((r) => [
    r.op,
    ...tools.map((t) => cell(r, t, r.median)),
    ...peers.map((t) => (r.ratio[t] !== undefined ? `${r.ratio[t].toFixed(2)}x` : '-')),
  ])
  const syncRows = result.results.map((r) => [`  ${r.op}: sync after`, ...tools.map((t) => cell(r, t, r.syncAfter)), '', ''])
  const all = [...rows, ...syncRows]
  const widths = header.map((h, i) => Math.max(h.length, ...all.map((row) => row[i].length)))
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd()
  const errors = result.results.flatMap((r) => Object.entries(r.errors).map(([t, e]) => `  ${r.op} with ${t}: ${e}`))
  return [
    `medians of ${result.runs} run(s); image: ${result.files} files, ${mib(result.contentBytes)} of content ` +
      `(${mib(result.tarBytes)} tar, ${mib(result.compressedBytes)} gzip in ${result.layers} layer(s));`,
    'registry: docker-registry (Distribution) on 127.0.0.1, filesystem storage, plain HTTP',
    '',
    line(header),
    ...rows.map(line),
    '',
    'sync(1) right after each command, not in the times above (what it left for the kernel to write):',
    ...syncRows.map(line),
    '',
    'push: to a registry restarted on emptied storage, new repository each run, no cross-repo mounts',
    'pull: into an empty store/dir each run, after one untimed warm-up pull per tool (registry blobs in page cache);',
    '      strata = download + verify + extract; skopeo+umoci = skopeo copy to an OCI dir, then umoci unpack',
    `strata times include the CLI's start-up: ${result.strataStartup.toFixed(3)} s (median of \`strata image ls\` on an empty store)`,
    ...(errors.length ? ['', 'errors:', ...errors] : []),
    ...(result.lazyStart ? ['', ...formatLazyStart(result.lazyStart)] : []),
  ].join('\n')
}
