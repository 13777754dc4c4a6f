// copyUp() on real directories (no FUSE): the copy is byte-identical at every
// size the data path treats differently (empty, a page, inline, the
// libuv-pool copy, an odd size), synced (durable) and not (fsync=0), built as an O_TMPFILE file or under a temp
// name (a work dir without O_TMPFILE), and keeps mode and times; a taken
// name refuses the copy and leaves nothing behind; a directory the same. That the
// copy is on disk before it shows cannot be tested without crashing the
// machine; test/fuse/copy-up-remount.ts checks what a remount reads back.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { copyUp } from '../../src/union/copy-up.js'
import { DirLayer } from '../../src/union/dir-layer.js'
import { UpperDir } from '../../src/union/upper-dir.js'
import { native, C, S_INO, S_MTIME, S_MTIME_NS } from '../../src/native/binding.js'

const MiB = 1 << 20
// 0 and 1 byte, a page, the inline limit and one past it (the pool copy),
// and an odd size past a few MiB.
const SIZES = [0, 1, 4096, MiB, MiB + 1, 20 * MiB + 12345]

function pattern (size: number, seed: number): Buffer {
  // Random bytes repeated: cheap to make, and a shifted or short copy differs.
  const block = crypto.randomBytes(65521 + seed)
  const b = Buffer.alloc(size)
  for (let off = 0; off < size; off += block.length) block.copy(b, off)
  return b
}

const MODES = [{ durable: true, tmpfile: true }, { durable: false, tmpfile: true }, { durable: true, tmpfile: false }]

for (const { durable, tmpfile } of MODES) {
  t.test(`copy-up data is byte-identical at every size (${durable ? 'durable' : 'fsync=0'}, ${tmpfile ? 'O_TMPFILE' : 'named temp'})`, async (t) => {
    const dir = t.testdir({ lower: {}, upper: {}, work: {} })
    const files = SIZES.map((size, i) => ({ name: `f${size}`, data: pattern(size, i) }))
    for (const f of files) {
      fs.writeFileSync(path.join(dir, 'lower', f.name), f.data)
      fs.chmodSync(path.join(dir, 'lower', f.name), 0o751)
      fs.utimesSync(path.join(dir, 'lower', f.name), 1500000000, 1600000000.25)
    }
    const layer = new DirLayer(path.join(dir, 'lower'))
    const upper = new UpperDir(path.join(dir, 'upper'), path.join(dir, 'work'))
    upper.durable = durable
    upper.tmpfile = tmpfile
    t.teardown(() => { native.close(upper.root); native.close(upper.work); native.close(layer.root) })
    for (const f of files) {
      const st = layer.lookup(layer.root, f.name)
      if (!st) throw new Error(`${f.name} missing from the lower`)
      await copyUp({ layer, dir: layer.root, name: f.name, st, origin: st[S_INO] }, upper, upper.root)
      const copy = fs.readFileSync(path.join(dir, 'upper', f.name))
      t.equal(copy.length, f.data.length, `${f.name}: length`)
      t.ok(copy.equals(f.data), `${f.name}: same bytes`)
      const ust = native.fstatat(upper.root, f.name, C.AT_SYMLINK_NOFOLLOW)
      t.equal(ust[S_MTIME] * 1e9 + ust[S_MTIME_NS], 1600000000250000000, `${f.name}: mtime kept`)
      t.equal(fs.statSync(path.join(dir, 'upper', f.name)).mode & 0o7777, 0o751, `${f.name}: mode kept`)
    }
    t.same(fs.readdirSync(path.join(dir, 'work', 'work')), [], 'nothing left in the work dir')
    t.equal(upper.tmpfile, tmpfile, tmpfile ? 'the work dir took O_TMPFILE files' : 'the named path stayed named')
  })

  t.test(`a copy-up onto a taken name fails and leaves nothing (${tmpfile ? 'O_TMPFILE' : 'named temp'})`, async (t) => {
    const dir = t.testdir({ lower: { f: 'lower data' }, upper: { f: 'already here' }, work: {} })
    const layer = new DirLayer(path.join(dir, 'lower'))
    const upper = new UpperDir(path.join(dir, 'upper'), path.join(dir, 'work'))
    upper.durable = durable
    upper.tmpfile = tmpfile
    t.teardown(() => { native.close(upper.root); native.close(upper.work); native.close(layer.root) })
    const st = layer.lookup(layer.root, 'f')
    if (!st) throw new Error('f missing from the lower')
    await t.rejects(copyUp({ layer, dir: layer.root, name: 'f', st, origin: st[S_INO] }, upper, upper.root), { code: 'EEXIST' })
    t.equal(fs.readFileSync(path.join(dir, 'upper', 'f'), 'utf8'), 'already here', 'the upper file is untouched')
    t.same(fs.readdirSync(path.join(dir, 'work', 'work')), [], 'nothing left in the work dir')
  })
}

t.test('a copy-up of a prefix (truncate) copies only that much', async (t) => {
  const dir = t.testdir({ lower: {}, upper: {}, work: {} })
  const data = pattern(9 * MiB, 3)
  fs.writeFileSync(path.join(dir, 'lower', 'big'), data)
  const layer = new DirLayer(path.join(dir, 'lower'))
  const upper = new UpperDir(path.join(dir, 'upper'), path.join(dir, 'work'))
  t.teardown(() => { native.close(upper.root); native.close(upper.work); native.close(layer.root) })
  const st = layer.lookup(layer.root, 'big')
  if (!st) throw new Error('big missing from the lower')
  await copyUp({ layer, dir: layer.root, name: 'big', st, origin: st[S_INO] }, upper, upper.root, 8 * MiB + 7)
  t.ok(fs.readFileSync(path.join(dir, 'upper', 'big')).equals(data.subarray(0, 8 * MiB + 7)), 'the first 8 MiB + 7 bytes, no more')
})

t.test('a directory copies up with mode, times and xattrs and comes back open; onto a taken name it leaves nothing', async (t) => {
  const dir = t.testdir({ lower: { d: { inner: 'x' }, e: {} }, upper: { e: {} }, work: {} })
  const lowerD = path.join(dir, 'lower', 'd')
  fs.chmodSync(lowerD, 0o2751)
  fs.utimesSync(lowerD, 1000, 2000)
  native.setxattr(C.AT_FDCWD, lowerD, 'user.note', Buffer.from('kept'), 0)
  const layer = new DirLayer(path.join(dir, 'lower'))
  const upper = new UpperDir(path.join(dir, 'upper'), path.join(dir, 'work'))
  t.teardown(() => { native.close(upper.root); native.close(upper.work); native.close(layer.root) })
  const st = layer.lookup(layer.root, 'd')
  if (!st) throw new Error('d missing from the lower')
  const fd = await copyUp({ layer, dir: layer.root, name: 'd', st, origin: st[S_INO] }, upper, upper.root)
  t.teardown(() => { native.close(fd) })
  const copy = fs.statSync(path.join(dir, 'upper', 'd'))
  t.equal(copy.mode & 0o7777, 0o2751, 'mode, setgid bit included')
  t.equal(copy.mtimeMs, 2000 * 1000, 'mtime')
  t.equal(native.fstat(fd)[S_INO], copy.ino, 'the fd is the new upper dir')
  t.same(native.getxattr(C.AT_FDCWD, path.join(dir, 'upper', 'd'), 'user.note'), Buffer.from('kept'), 'user xattr copied')
  t.same(fs.readdirSync(path.join(dir, 'upper', 'd')), [], 'a directory copies up empty')

  const ste = layer.lookup(layer.root, 'e')
  if (!ste) throw new Error('e missing from the lower')
  await t.rejects(copyUp({ layer, dir: layer.root, name: 'e', st: ste, origin: ste[S_INO] }, upper, upper.root), { code: 'EEXIST', syscall: 'renameat2' })
  t.same(fs.readdirSync(path.join(dir, 'work', 'work')), [], 'nothing left in the work dir')
})
