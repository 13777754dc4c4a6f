// Entry of the registry bench (scripts/bench --suite registry, which main.ts
// hands over here): parses flags, runs runRegistryBench, prints the table or
// JSON (progress goes to stderr).

import yargs from 'yargs'
import { formatRegistryTable } from './format-registry-table.js'
import { runRegistryBench } from './run-registry-bench.js'

export async function registryMain (argv: string[]): Promise<void> {
  const args = await yargs(argv)
    .scriptName('bench --suite registry')
    .usage(
      '$0 [options]\n\nTimes strata image push/pull against skopeo (and skopeo + umoci unpack) through a local ' +
        'Distribution registry (/usr/bin/docker-registry) on the same image; then the time to a container\'s first output, ' +
        'lazy vs full pull, through a link throttled to --mbps.'
    )
    .option('runs', { type: 'number', default: 3, describe: 'runs per cell; the table shows medians' })
    .option('mib', { type: 'number', default: 256, describe: 'MiB of incompressible data in the image (4 big files)' })
    .option('files', { type: 'number', default: 2000, describe: 'number of small (1-16 KiB) files in the image' })
    .option('dir', { type: 'string', default: '/var/tmp/strata-bench-registry', describe: 'work dir (registry storage, stores)' })
    .option('keep', { type: 'boolean', default: false, describe: 'keep the work dir (and its logs) afterwards' })
    .option('lazy', { type: 'boolean', default: true, describe: 'also the lazy-start rows: full vs lazy pull to first output, through a throttled link (--no-lazy skips them)' })
    .option('lazy-mib', { type: 'number', default: 192, describe: 'MiB of the lazy-start image' })
    .option('mbps', { type: 'number', default: 20, describe: 'bandwidth of the lazy-start link, MB/s' })
    .option('json', { type: 'boolean', default: false, describe: 'print results as JSON' })
    .check((a) => {
      if (!(a.runs >= 1) || !(a.mib >= 1) || !(a.files >= 0)) throw new Error('--runs and --mib must be >= 1, --files >= 0')
      if (!(a['lazy-mib'] >= 1) || !(a.mbps > 0)) throw new Error('--lazy-mib must be >= 1, --mbps > 0')
      return true
    })
    .version(false)
    .strict()
    .help()
    .parseAsync()

  try {
    const result = await runRegistryBench({
      runs: Math.floor(args.runs),
      mib: Math.floor(args.mib),
      files: Math.floor(args.files),
      dir: args.dir,
      keep: args.keep,
      lazyStart: args.lazy ? { mib: Math.floor(args['lazy-mib']), mbps: args.mbps } : undefined,
    })
    process.stdout.write((args.json ? JSON.stringify(result, null, 2) : formatRegistryTable(result)) + '\n')
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`)
    process.exitCode = 1
  }
}
