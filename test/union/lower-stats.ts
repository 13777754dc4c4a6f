// The union keeps the attributes of only its most recent lower lookups
// (src/union/lower-stats.ts) and reads older ones again from the layer. The
// tests change a lower file behind the union's back, which a real layer
// never does, to see which answer came from where.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { UnionFs, ROOT_ID } from '../../src/union/union-fs.js'
import { DirLayer } from '../../src/union/dir-layer.js'
import { UpperDir } from '../../src/union/upper-dir.js'
import { LowerStats } from '../../src/union/lower-stats.js'
import { S_MODE, S_MTIME, S_MTIME_NS, S_SIZE, STAT_LEN } from '../../src/native/binding.js'

// More than the window of 4096, so that the first ones are read again.
const FILES = 4300

function fixture (t: Test): { u: UnionFs, lower: string, upper: string, dirId: number } {
  const dir = t.testdir({ l1: { many: {} }, upper: {}, work: {} })
  const lower = path.join(dir, 'l1', 'many')
  for (let i = 0; i < FILES; i++) {
    const f = path.join(lower, `f${i}`)
    fs.writeFileSync(f, 'x'.repeat(i % 97))
    fs.chmodSync(f, 0o600 + (i % 64))
    fs.utimesSync(f, 1_500_000_000 + i, 1_500_000_000 + i + 0.25)
  }
  const u = new UnionFs([new DirLayer(path.join(dir, 'l1'))], new UpperDir(path.join(dir, 'upper'), path.join(dir, 'work')), { timeout: 1 })
  t.teardown(() => { u.close() })
  const d = u.lookup(ROOT_ID, 'many')
  if (!d) throw new Error('no many/')
  return { u, lower, upper: path.join(dir, 'upper'), dirId: d.node.id }
}

t.test('attributes of lookups past the window are read again, the same', async (t) => {
  const { u, lower, dirId } = fixture(t)
  const ids: number[] = []
  const seen: Float64Array[] = []
  for (let i = 0; i < FILES; i++) {
    const e = u.lookup(dirId, `f${i}`)!
    ids.push(e.node.id)
    seen.push(Float64Array.from(e.attr))
  }
  let same = 0
  for (let i = 0; i < FILES; i++) if (u.getattr(ids[i]).every((v, k) => v === seen[i][k])) same++
  t.equal(same, FILES, 'every getattr equals the lookup\'s answer, kept or read again')

  // Behind the union's back: the first file's mode changes in the layer.
  fs.chmodSync(path.join(lower, 'f0'), 0o644)
  fs.chmodSync(path.join(lower, `f${FILES - 1}`), 0o644)
  t.equal(u.getattr(ids[0])[S_MODE] & 0o7777, 0o644, 'an old lookup\'s attributes come from the layer')
  t.equal(u.getattr(ids[FILES - 1])[S_MODE] & 0o7777, 0o600 + ((FILES - 1) % 64), 'a recent one\'s are the kept ones')
})

t.test('a copy-up of a node read again keeps its metadata', async (t) => {
  const { u, upper, dirId } = fixture(t)
  const first = u.lookup(dirId, 'f5')!
  for (let i = 6; i < FILES; i++) u.lookup(dirId, `f${i}`)
  const before = Float64Array.from(first.attr)
  const { fd } = await u.open(first.node.id, fs.constants.O_WRONLY)
  fs.closeSync(fd)
  const st = fs.statSync(path.join(upper, 'many', 'f5'), { bigint: true })
  t.equal(Number(st.mode) & 0o7777, before[S_MODE] & 0o7777, 'mode')
  t.equal(Number(st.size), before[S_SIZE], 'size')
  t.equal(Number(st.mtimeMs / 1000n), before[S_MTIME], 'mtime seconds')
  t.equal(Number(st.mtimeNs % 1_000_000_000n), before[S_MTIME_NS], 'mtime nanoseconds')
  t.equal(u.getattr(first.node.id)[S_MODE], before[S_MODE], 'the union answers the upper copy, same mode')
})

t.test('an unlinked lower file the kernel holds keeps the attributes it had', async (t) => {
  const { u, lower, dirId } = fixture(t)
  const e = u.lookup(dirId, 'f7')!
  const before = Float64Array.from(e.attr)
  await u.unlink(dirId, 'f7')
  for (let i = 8; i < FILES; i++) u.lookup(dirId, `f${i}`)
  fs.chmodSync(path.join(lower, 'f7'), 0o644)
  t.same([...u.getattr(e.node.id)], [...before], 'pinned outside the window, not read again')
  u.forget(e.node.id, 1)
  t.throws(() => u.getattr(e.node.id), { code: 'ESTALE' }, 'and gone with the node')
})

t.test('an unlinked lower file looked up long before keeps the attributes it had', async (t) => {
  const { u, lower, dirId } = fixture(t)
  const e = u.lookup(dirId, 'f9')!
  const before = Float64Array.from(e.attr)
  for (let i = 10; i < FILES; i++) u.lookup(dirId, `f${i}`)
  await u.unlink(dirId, 'f9')
  fs.chmodSync(path.join(lower, 'f9'), 0o644)
  t.same([...u.getattr(e.node.id)], [...before], 'read again at the unlink, then pinned')
})

t.test('LowerStats: copies, a bounded window, drop', async (t) => {
  const s = new LowerStats()
  const src = new Float64Array(STAT_LEN).fill(3)
  const kept = s.keep(1, src)
  src.fill(4)
  t.same([...kept], new Array(STAT_LEN).fill(3), 'a copy, not the caller\'s array')
  const other = s.keep(2, new Float64Array(STAT_LEN).fill(5))
  t.same([...kept], new Array(STAT_LEN).fill(3), 'slots in one chunk do not overlap')
  t.equal(other[0], 5)
  for (let i = 3; i < 5000; i++) s.keep(i, src)
  t.equal(s.get(1), undefined, 'the oldest leave the window')
  t.ok(s.get(4999), 'the newest stay')
  s.drop(4999)
  t.equal(s.get(4999), undefined, 'drop forgets')
  t.same([...kept], new Array(STAT_LEN).fill(3), 'a view handed out never changes after it leaves')
})
