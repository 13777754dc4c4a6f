// Copy-ups through a real mount read back the same after a remount: a big
// file (copied on the libuv pool) and small ones
// (copied inline), each appended to as the copyup-big and copyup-small bench
// rows do. The upper holds exactly the lower's bytes plus the append, and a
// fresh daemon on the same upper serves those bytes.
import t from 'tap'
import fs from 'node:fs'
import crypto from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { strataUnion } from '../fixtures/strata-union.js'
import { mountOverlay } from '../fixtures/mount-overlay.js'

const BIG = (20 << 20) + 4099

t.test('copy-ups through the mount are byte-identical and survive a remount', async (t) => {
  const small: Record<string, Buffer> = {}
  for (let i = 0; i < 20; i++) small[`s${i}`] = crypto.randomBytes(1 + i * 997)
  const bigData = crypto.randomBytes(BIG)
  const u = await strataUnion(t, [{ data: { 'big.bin': bigData }, small }])
  const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex')
  const want = new Map<string, string>()
  // The shell appends, so the copy-up happens in the daemon, as in the bench.
  execFileSync('sh', ['-c', 'printf x >> "$1/data/big.bin" && for f in "$1"/small/*; do printf x >> "$f" || exit 1; done', 'sh', u.mnt])
  want.set('data/big.bin', sha(Buffer.concat([bigData, Buffer.from('x')])))
  for (const [name, b] of Object.entries(small)) want.set(`small/${name}`, sha(Buffer.concat([b, Buffer.from('x')])))
  await u.mounted.unmount()
  for (const [p, h] of want) t.equal(sha(fs.readFileSync(`${u.upper}/${p}`)), h, `upper ${p} is the lower plus the append`)
  t.same(fs.readdirSync(`${u.work}/work`), [], 'nothing left in the work dir')
  const again = await mountOverlay(t, 'strata', { lowerdir: u.lowerdir, upperdir: u.upper, workdir: u.work, mountpoint: u.mnt })
  t.teardown(() => again.unmount())
  for (const [p, h] of want) t.equal(sha(fs.readFileSync(`${u.mnt}/${p}`)), h, `remounted ${p} reads the copy`)
  await again.unmount()
})

// Names travel between JS and native as bytes (Latin1 strings): a copy-up
// must land under the lower's own bytes, not a re-encoding of them.
t.test('a copy-up keeps a non-ASCII name byte for byte', async (t) => {
  const u = await strataUnion(t, [{ data: { 'café-ü.txt': Buffer.from('old') } }])
  execFileSync('sh', ['-c', 'printf new >> "$1/data/café-ü.txt"', 'sh', u.mnt])
  t.equal(fs.readFileSync(`${u.mnt}/data/café-ü.txt`, 'utf8'), 'oldnew', 'read back through the mount')
  await u.mounted.unmount()
  t.same(fs.readdirSync(`${u.upper}/data`), ['café-ü.txt'], 'the upper holds the name the lower has')
  t.equal(fs.readFileSync(`${u.upper}/data/café-ü.txt`, 'utf8'), 'oldnew', 'under which the copy is')
})
