// issue 9's targets applied to fixed medians: slower than fuse-overlayfs is a
// miss on every row; a kernel multiple or an absolute bound on top.
import t from 'tap'
import { judge, targetText } from '../../src/bench/judge.js'
import type { OpResult } from '../../src/bench/run-bench.js'

const base: OpResult = { op: 'x', cache: 'warm', unit: 's', systems: ['kernel', 'fuse-overlayfs', 'strata'], runs: {}, median: {}, ratio: {}, errors: {} }

t.test('a kernel-multiple target', async (t) => {
  const r = { ...base, target: { kernel: 1.5 } }
  t.same(judge({ ...r, median: { kernel: 1, 'fuse-overlayfs': 2, strata: 1.4 } }), { met: true, misses: [] })
  t.same(judge({ ...r, median: { kernel: 1, 'fuse-overlayfs': 2, strata: 1.6 } }), { met: false, misses: ['1.60x kernel > 1.5x'] })
  t.same(judge({ ...r, median: { kernel: 1, 'fuse-overlayfs': 1.2, strata: 1.4 } }), { met: false, misses: ['1.17x fuse-overlayfs'] })
  t.equal(targetText(r), 'fo, 1.5x k')
})

t.test('an absolute bound, and rows without one', async (t) => {
  const rss = { ...base, unit: 'MiB' as const, systems: ['fuse-overlayfs' as const, 'strata' as const], target: { max: 60 } }
  t.same(judge({ ...rss, median: { 'fuse-overlayfs': 30, strata: 174 } }), { met: false, misses: ['5.80x fuse-overlayfs', '174.0 > 60 MiB'] })
  t.same(judge({ ...rss, median: { 'fuse-overlayfs': 70, strata: 50 } }), { met: true, misses: [] })
  t.equal(targetText(rss), 'fo, 60 MiB')
  t.same(judge({ ...base, median: { kernel: 1, 'fuse-overlayfs': 2, strata: 1.9 } }), { met: true, misses: [] })
  t.equal(targetText(base), 'fo')
})

t.test('strata errors miss; strata not run is not judged', async (t) => {
  t.same(judge({ ...base, errors: { strata: 'exit 1' } }), { met: false, misses: ['error'] })
  t.equal(judge({ ...base, systems: ['kernel', 'fuse-overlayfs'], median: { kernel: 1 } }), undefined)
})
