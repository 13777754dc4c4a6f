// Stand-alone entry of the bench (scripts/bench, and `strata bench`, which
// runs this file; --suite registry hands over to registry-main.ts): parses
// flags, runs runBench, prints the table or JSON (progress goes to stderr) and
// writes the chart. Bad flags stop it before anything is built or mounted.

import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { DEFAULT_SIZES, QUICK_SIZES } from './build-layers.js'
import { formatChart } from './format-chart.js'
import { formatTable } from './format-table.js'
import { systemNames, type SystemName } from './mount-system.js'
import { operations } from './operations.js'
import { runBench, type BenchResult } from './run-bench.js'
import { registryMain } from './registry-main.js'

const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean)

/** Removes `--suite NAME` / `--suite=NAME` from argv; returns the name (default overlay). */
function takeSuite (argv: string[]): string {
  let suite = 'overlay'
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--suite' && i + 1 < argv.length) {
      suite = argv[i + 1]!
      argv.splice(i--, 2)
    } else if (a.startsWith('--suite=')) {
      suite = a.slice('--suite='.length)
      argv.splice(i--, 1)
    }
  }
  return suite
}

export async function main (argv: string[]): Promise<void> {
  argv = [...argv]
  const suite = takeSuite(argv)
  if (suite === 'registry') return registryMain(argv)
  if (suite !== 'overlay') {
    process.stderr.write(`bench: unknown --suite ${suite} (overlay, registry)\n`)
    process.exitCode = 1
    return
  }
  const args = await yargs(argv)
    .scriptName('bench')
    .usage('$0 [options]\n\nTimes kernel overlayfs, fuse-overlayfs and strata on identical layers. Needs root.\n' +
      'With --suite registry: strata image push/pull vs skopeo (see --suite registry --help).')
    .option('runs', { type: 'number', describe: 'runs per cell; the table shows medians (default 3, 1 with --quick)' })
    .option('quick', { type: 'boolean', default: false, describe: 'every row on a small data set, one run: a smoke test, not a measurement' })
    .option('big-mib', { type: 'number', describe: `size of the big file and of the fsync write (default ${DEFAULT_SIZES.bigMib}, ${QUICK_SIZES.bigMib} with --quick)` })
    .option('only', { type: 'string', describe: `comma-separated operations: ${operations.map((op) => op.name).join(',')}` })
    .option('systems', { type: 'string', default: systemNames.join(','), describe: 'comma-separated systems to run' })
    .option('dir', { type: 'string', default: '/var/tmp/strata-bench', describe: 'work dir (layers, upper/work dirs, mount point)' })
    .option('keep', { type: 'boolean', default: false, describe: 'keep the work dir; a later run with it reuses the layers' })
    .option('json', { type: 'boolean', default: false, describe: 'print results as JSON' })
    .option('requests', { type: 'boolean', default: false, describe: 'also count FUSE requests by opcode per row (one more run each, from the kernel\'s fuse tracepoint; needs tracefs)' })
    .option('from', { type: 'string', describe: 'measure nothing: print the table and write the chart of a saved --json output' })
    .option('chart', { type: 'string', default: 'strata-bench.svg', describe: 'write the results as an SVG chart here (--chart "" for none)' })
    .check((a) => {
      const bad = list(a.systems).filter((s) => !(systemNames as readonly string[]).includes(s))
      if (bad.length) throw new Error(`unknown system(s): ${bad.join(', ')}`)
      if ((a.runs !== undefined && !(a.runs >= 1)) || (a['big-mib'] !== undefined && !(a['big-mib'] >= 1))) throw new Error('--runs and --big-mib must be >= 1')
      if (a.from !== undefined && !existsSync(a.from)) throw new Error(`--from ${a.from}: no such file`)
      if (a.chart && !existsSync(dirname(resolve(a.chart)))) throw new Error(`--chart ${a.chart}: no directory ${dirname(resolve(a.chart))}`)
      return true
    })
    .version(false)
    .strict()
    .help()
    .parseAsync()

  try {
    const base = args.quick ? QUICK_SIZES : DEFAULT_SIZES
    const measure = (): Promise<BenchResult> => runBench({
      runs: Math.floor(args.runs ?? (args.quick ? 1 : 3)),
      sizes: { ...base, bigMib: Math.floor(args['big-mib'] ?? base.bigMib) },
      only: args.only ? list(args.only) : undefined,
      systems: list(args.systems) as SystemName[],
      dir: args.dir,
      keep: args.keep,
      requests: args.requests,
    })
    const result = args.from === undefined ? await measure() : JSON.parse(await readFile(args.from, 'utf8')) as BenchResult
    process.stdout.write((args.json ? JSON.stringify(result, null, 2) : formatTable(result)) + '\n')
    if (args.chart) {
      const chart = resolve(args.chart)
      await writeFile(chart, formatChart(result))
      // On stderr with --json, so stdout stays one JSON document.
      ;(args.json ? process.stderr : process.stdout).write(`chart: ${chart}\n`)
    }
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`)
    process.exitCode = 1
  }
}

// Importing this module (from cli/, say) must not run it.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main(hideBin(process.argv))
