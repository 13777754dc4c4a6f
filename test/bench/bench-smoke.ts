// End to end, the built bench (scripts/bench, as a user runs it) on the quick
// data set, one row of each kind of measurement: mount and umount (with
// strata's spare daemon waiting, and without), --version,
// the daemon's peak RSS, and a timed command (on the 8-lower tree), with
// the host's steal on every row and CPU seconds on the command row.
// Every row must come back with a value for every system it applies to, the
// JSON must be the whole of stdout, and the chart must be written. No timing
// is asserted. The bench unmounts whatever it mounted; the test checks that
// nothing is left mounted under its work dir, and no spare daemon running.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchResult } from '../../src/bench/run-bench.js'
import { sparesOf } from '../../src/fuse/spare-processes.js'

const bench = fileURLToPath(new URL('../../scripts/bench', import.meta.url))
const rows = ['mount', 'mount-cold', 'umount', 'umount-cold', 'cli-version', 'daemon-peak-rss', 'find-warm-8L']

t.test('scripts/bench --quick --json yields every row for all three systems', async (t) => {
  const dir = t.testdir({})
  const work = path.join(dir, 'work')
  const chart = path.join(dir, 'chart.svg')
  const r = spawnSync(bench, ['--quick', '--json', '--only', rows.join(','), '--dir', work, '--chart', chart], { encoding: 'utf8', timeout: 300_000 })
  t.equal(r.status, 0, `bench exits 0: ${r.stderr.slice(-2000)}`)
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8')
  t.notOk(mounts.includes(dir), 'nothing left mounted')
  t.notOk(fs.existsSync(work), 'work dir removed')
  t.same(sparesOf(path.join(work, 'strata-run')), [], 'no spare daemon of the bench\'s is left')
  const result = JSON.parse(r.stdout) as BenchResult
  t.same(result.results.map((x) => x.op), rows, 'rows in table order')
  for (const row of result.results) {
    const want = row.op === 'cli-version' || row.op === 'daemon-peak-rss' ? ['fuse-overlayfs', 'strata'] : ['kernel', 'fuse-overlayfs', 'strata']
    t.same(row.systems, want, `${row.op}: systems`)
    t.same(row.errors, {}, `${row.op}: no errors`)
    for (const s of want) t.ok((row.median[s as keyof typeof row.median] ?? 0) > 0, `${row.op} on ${s} has a value`)
  }
  for (const row of result.results) t.ok(row.steal !== undefined && row.steal >= 0 && row.steal < 1, `${row.op}: the host's steal is read`)
  const find = result.results.find((x) => x.op === 'find-warm-8L')
  // Present (a FUSE daemon not found is an error of the row); the quick walk may take under a tick.
  for (const s of ['kernel', 'fuse-overlayfs', 'strata'] as const) t.ok((find?.cpuMedian?.[s] ?? -1) >= 0, `find-warm-8L on ${s} has CPU seconds`)
  t.equal(result.results.find((x) => x.op === 'mount')?.cpuMedian, undefined, 'no CPU reading where the clock is not a command\'s')
  const rss = result.results.find((x) => x.op === 'daemon-peak-rss')
  t.equal(rss?.unit, 'MiB')
  t.match(r.stderr, `chart: ${chart}`)
  t.match(fs.readFileSync(chart, 'utf8'), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)

  // --from re-renders a saved run without measuring: the table has every row.
  const saved = path.join(dir, 'run.json')
  fs.writeFileSync(saved, r.stdout)
  const again = spawnSync(bench, ['--from', saved, '--chart', ''], { encoding: 'utf8', timeout: 60_000 })
  t.equal(again.status, 0, again.stderr)
  for (const op of rows) t.match(again.stdout, new RegExp(`^${op}\\s`, 'm'), `table row ${op}`)
})

t.test('strata bench runs the bench program with its arguments (from the CLI\'s bundle too)', async (t) => {
  const strata = fileURLToPath(new URL('../../bin/strata', import.meta.url))
  const r = spawnSync(strata, ['bench', '--only', 'no-such-row'], { encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 1, 'the bench\'s own exit code')
  t.match(r.stderr, /^bench: unknown operation\(s\) no-such-row; known: .*cli-version/m, 'the bench program itself answered')
})
