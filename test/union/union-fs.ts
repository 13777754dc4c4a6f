// Unit tests of the overlay logic on temp dirs, calling UnionFs directly
// (no FUSE): lookup through layers, whiteouts both forms, opaque dirs,
// copy-up keeping metadata, removal rules, rename rules, stable inodes.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { UnionFs, ROOT_ID, SET_MODE } from '../../src/union/union-fs.js'
import { DirLayer } from '../../src/union/dir-layer.js'
import { UpperDir } from '../../src/union/upper-dir.js'
import { ROOT_CALLER } from '../../src/union/caller.js'
import { native, S_INO, S_MODE, S_MTIME, S_MTIME_NS, S_NLINK, STAT_LEN } from '../../src/native/binding.js'

interface Fixture { fs: UnionFs, dir: string, upper: string, work: string }

function layers (t: Test, opts: { redirectDir?: boolean } = {}): Fixture {
  const dir = t.testdir({
    l1: {
      etc: { motd: 'base motd\n', passwd: 'root\n', 'gone.conf': 'x' },
      usr: { share: { doc: { a: 'a', b: 'b' } } },
      opq: { old: 'old' },
      'oci-opq': { hidden: 'h' },
      'oci-gone': 'g',
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- 'big' is a file in a fixture tree, not String.prototype.big
      big: Buffer.alloc(3 << 20, 7),
    },
    l2: {
      etc: { motd: 'top motd\n', 'app.conf': 'v1' },
      opq: { new: 'new' },
      'oci-opq': { '.wh..wh..opq': '', shown: 's' },
      '.wh.oci-gone': '',
    },
    upper: {},
    work: {},
  })
  execFileSync('mknod', [path.join(dir, 'l2/etc/gone.conf'), 'c', '0', '0'])
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(dir, 'l2/opq')])
  execFileSync('setfattr', ['-n', 'user.note', '-v', 'kept', path.join(dir, 'l1/etc/passwd')])
  fs.chownSync(path.join(dir, 'l1/etc/passwd'), 1234, 5678)
  fs.chmodSync(path.join(dir, 'l1/etc/passwd'), 0o4750)
  execFileSync('touch', ['-d', '@1500000000.123456789', path.join(dir, 'l1/etc/passwd')])
  const upper = path.join(dir, 'upper')
  const work = path.join(dir, 'work')
  const u = new UnionFs([new DirLayer(path.join(dir, 'l2')), new DirLayer(path.join(dir, 'l1'))], new UpperDir(upper, work), { timeout: 1, ...opts })
  return { fs: u, dir, upper, work }
}

const lookup = (u: UnionFs, p: string): number => {
  let id = ROOT_ID
  for (const part of p.split('/').filter(Boolean)) {
    const e = u.lookup(id, part)
    if (!e) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' })
    id = e.node.id
  }
  return id
}
const names = (u: UnionFs, p: string): string[] => {
  const h = u.opendir(lookup(u, p))
  const n = [...u.dirHandle(h).listing.names].sort()
  u.releasedir(h)
  return n
}
const exists = (u: UnionFs, p: string): boolean => {
  try { lookup(u, p); return true } catch { return false }
}
const read = (u: UnionFs, p: string): Promise<string> => u.open(lookup(u, p), 0).then(({ fd }) => {
  const b = fs.readFileSync(fd, 'utf8')
  fs.closeSync(fd)
  return b
})

t.test('lookup goes through layers, whiteouts and opaque dirs hide', async (t) => {
  const { fs: u } = layers(t)
  t.same(names(u, 'etc'), ['app.conf', 'motd', 'passwd'], 'merged, the char-0/0 whiteout hides gone.conf')
  t.equal(await read(u, 'etc/motd'), 'top motd\n', 'top layer wins')
  t.same(names(u, 'opq'), ['new'], 'xattr-opaque dir hides the lower one')
  t.same(names(u, 'oci-opq'), ['shown'], 'OCI opaque marker hides the lower dir and is not listed')
  t.notOk(exists(u, 'oci-gone'), 'OCI .wh. whiteout hides the lower file')
  t.notOk(names(u, '').some((n) => n.startsWith('.wh.')), 'OCI whiteouts are not listed')
  t.throws(() => u.lookup(ROOT_ID, 'x'.repeat(256)), { code: 'ENAMETOOLONG' })
})

t.test('copy-up keeps data, owner, mode, nanosecond times and xattrs', async (t) => {
  const { fs: u, upper } = layers(t)
  const id = lookup(u, 'etc/passwd')
  const before = u.getattr(id)
  await u.setxattr(id, 'user.more', Buffer.from('1'), 0)
  const st = fs.lstatSync(path.join(upper, 'etc/passwd'), { bigint: true })
  t.equal(st.uid, 1234n)
  t.equal(st.gid, 5678n)
  t.equal(Number(st.mode & 0o7777n), 0o4750, 'setuid kept by copy-up')
  t.equal(st.mtimeNs, 1500000000123456789n, 'mtime to the nanosecond')
  t.equal(fs.readFileSync(path.join(upper, 'etc/passwd'), 'utf8'), 'root\n')
  t.same(u.listxattr(id).sort(), ['user.more', 'user.note'])
  t.equal(u.getattr(id)[S_INO], before[S_INO], 'st_ino stable across copy-up')
  t.throws(() => u.getxattr(id, 'trusted.overlay.strata.origin'), { code: 'EOPNOTSUPP' }, 'internal xattrs are invisible')
  await t.rejects(u.setxattr(id, 'trusted.overlay.opaque', Buffer.from('y'), 0), { code: 'EOPNOTSUPP' })
  t.ok(fs.statSync(path.join(upper, 'etc')).isDirectory(), 'parent copied up')
  t.equal(fs.readdirSync(path.join(upper, 'etc')).length, 1, 'only what changed is in the upper')
})

t.test('a read-only open does not copy up; a write open does, big files too', async (t) => {
  const { fs: u, upper } = layers(t)
  const { fd } = await u.open(lookup(u, 'big'), 0)
  fs.closeSync(fd)
  t.notOk(fs.existsSync(path.join(upper, 'big')))
  const w = await u.open(lookup(u, 'big'), fs.constants.O_WRONLY)
  fs.closeSync(w.fd)
  t.equal(fs.statSync(path.join(upper, 'big')).size, 3 << 20)
  t.ok(fs.readFileSync(path.join(upper, 'big')).every((b) => b === 7), 'data intact')
  t.same(fs.readdirSync(path.join(upper, '..', 'work', 'work')), [], 'nothing left in the work dir')
})

t.test('unlink and rmdir leave whiteouts only where a lower has the name', async (t) => {
  const { fs: u, upper } = layers(t)
  await u.unlink(lookup(u, 'etc'), 'motd')
  const wh = fs.lstatSync(path.join(upper, 'etc/motd'))
  t.ok(wh.isCharacterDevice() && wh.rdev === 0, 'whiteout is char 0/0')
  t.notOk(exists(u, 'etc/motd'), 'nothing resurrects')
  const e = await u.create(lookup(u, 'etc'), 'new', 0o644, fs.constants.O_WRONLY, ROOT_CALLER)
  fs.closeSync(e.fd)
  await u.unlink(lookup(u, 'etc'), 'new')
  t.notOk(fs.existsSync(path.join(upper, 'etc/new')), 'no whiteout for an upper-only name')
  await t.rejects(u.rmdir(ROOT_ID, 'usr'), { code: 'ENOTEMPTY' })
  await u.unlink(lookup(u, 'usr/share/doc'), 'a')
  await u.unlink(lookup(u, 'usr/share/doc'), 'b')
  await u.rmdir(lookup(u, 'usr/share'), 'doc')
  t.ok(fs.lstatSync(path.join(upper, 'usr/share/doc')).isCharacterDevice(), 'rmdir of a dir holding only whiteouts leaves a whiteout')
  await u.mkdir(lookup(u, 'usr/share'), 'doc', 0o755, ROOT_CALLER)
  t.same(names(u, 'usr/share/doc'), [], 'a dir made over a whiteout is opaque: nothing resurrects')
  t.equal(execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'trusted.overlay.opaque', path.join(upper, 'usr/share/doc')], { encoding: 'utf8' }), 'y')
  const f = await u.create(lookup(u, 'etc'), 'motd', 0o600, fs.constants.O_WRONLY, ROOT_CALLER)
  fs.closeSync(f.fd)
  t.ok(fs.lstatSync(path.join(upper, 'etc/motd')).isFile(), 'recreating the name drops the whiteout')
})

t.test('without redirect_dir, a directory with lower parts cannot move', async (t) => {
  const { fs: u } = layers(t, { redirectDir: false })
  await t.rejects(u.rename(ROOT_ID, 'usr', ROOT_ID, 'usr2', 0), { code: 'EXDEV' })
  t.same(names(u, 'usr/share/doc'), ['a', 'b'], 'and stays where it was')
})

t.test('rename of lower directories by redirect (redirect_dir=on)', async (t) => {
  const { fs: u, upper, work } = layers(t)
  const redirect = (p: string): string => execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'trusted.overlay.redirect', path.join(upper, p)], { encoding: 'latin1' })
  await u.rename(ROOT_ID, 'usr', ROOT_ID, 'usr2', 0)
  t.equal(redirect('usr2'), 'usr', 'within one parent: the old name')
  t.ok(fs.lstatSync(path.join(upper, 'usr')).isCharacterDevice(), 'a whiteout at the old name')
  t.same(fs.readdirSync(path.join(upper, 'usr2')), [], 'nothing of the tree was copied')
  await u.rename(lookup(u, 'usr2'), 'share', lookup(u, 'etc'), 'share2', 0)
  t.equal(redirect('etc/share2'), '/usr/share', 'elsewhere: the absolute path in the lowers, through the parent\'s redirect')
  await u.rename(ROOT_ID, 'usr2', ROOT_ID, 'usr3', 0)
  t.equal(redirect('usr3'), 'usr', 'a redirect still good in the same parent is kept')
  // A fresh union over the same upper resolves the redirects from disk.
  const again = new UnionFs(u.layers, new UpperDir(upper, work), { timeout: 1 })
  t.same(names(again, 'etc/share2/doc'), ['a', 'b'], 'the moved tree shows its lower entries after a remount')
  t.equal(await read(again, 'etc/share2/doc/a'), 'a')
  t.same(names(again, 'usr3'), [], 'and is gone from its old parent')
  t.notOk(exists(again, 'usr'), 'the old name is a whiteout')
})

t.test('redirects written in lower layers are followed (relative and absolute)', async (t) => {
  // What kernel overlayfs shows for these lowers with redirect_dir=follow:
  // moved/ merges L1's orig/, a/b2/ merges L1's c/b/.
  const dir = t.testdir({ L1: { orig: { x: 'x' }, c: { b: { y: 'y' } } }, L2: { moved: { z: 'z' }, a: { b2: {} } } })
  execFileSync('setfattr', ['-n', 'trusted.overlay.redirect', '-v', 'orig', path.join(dir, 'L2/moved')])
  execFileSync('setfattr', ['-n', 'trusted.overlay.redirect', '-v', '/c/b', path.join(dir, 'L2/a/b2')])
  execFileSync('mknod', [path.join(dir, 'L2/orig'), 'c', '0', '0'])
  const u = new UnionFs([new DirLayer(path.join(dir, 'L2')), new DirLayer(path.join(dir, 'L1'))], null, { timeout: 1 })
  t.same(names(u, 'moved'), ['x', 'z'], 'a relative redirect: the same parent, another name')
  t.same(names(u, 'a/b2'), ['y'], 'an absolute redirect: from the lower roots')
  t.equal(await read(u, 'a/b2/y'), 'y')
  t.same(names(u, 'c/b'), ['y'], 'the redirect target stays where it is too')
  t.notOk(exists(u, 'orig'), 'and a whiteout still hides the old name')
  execFileSync('setfattr', ['-n', 'trusted.overlay.redirect', '-v', '../escape', path.join(dir, 'L2/a/b2')])
  const bad = new UnionFs([new DirLayer(path.join(dir, 'L2')), new DirLayer(path.join(dir, 'L1'))], null, { timeout: 1 })
  t.throws(() => lookup(bad, 'a/b2'), { code: 'EIO' }, 'a malformed redirect is an error, never a path outside')
})

t.test('rename: files across layers leave a whiteout', async (t) => {
  const { fs: u, upper } = layers(t)
  await u.rename(lookup(u, 'etc'), 'passwd', ROOT_ID, 'passwd2', 0)
  t.ok(fs.lstatSync(path.join(upper, 'etc/passwd')).isCharacterDevice(), 'whiteout at the source')
  t.equal(await read(u, 'passwd2'), 'root\n')
  await u.mkdir(ROOT_ID, 'mine', 0o755, ROOT_CALLER)
  await u.rename(ROOT_ID, 'mine', ROOT_ID, 'mine2', 0)
  t.ok(exists(u, 'mine2') && !exists(u, 'mine'), 'an upper-only dir moves')
  await t.rejects(u.rename(ROOT_ID, 'passwd2', lookup(u, 'etc'), 'motd', 1 /* RENAME_NOREPLACE: Node's fs.constants lacks it */), { code: 'EEXIST' })
  await u.rename(ROOT_ID, 'passwd2', lookup(u, 'etc'), 'motd', 2 /* RENAME_EXCHANGE */)
  t.equal(await read(u, 'etc/motd'), 'root\n')
  t.equal(await read(u, 'passwd2'), 'top motd\n', 'exchanged')
})

t.test('inode numbers: stable, d_ino equals st_ino, dir nlink counts subdirs', async (t) => {
  const { fs: u } = layers(t)
  const h = u.opendir(ROOT_ID)
  const l = u.dirHandle(h).listing
  for (let i = 0; i < l.names.length; i++) {
    t.equal(l.inos[i], u.getattr(lookup(u, l.names[i]))[S_INO], `d_ino of ${l.names[i]}`)
  }
  u.releasedir(h)
  const subdirs = l.types.filter((x) => x === 4).length
  t.equal(u.getattr(ROOT_ID)[S_NLINK], 2 + subdirs, 'root nlink = 2 + subdirs')
  const id = lookup(u, 'etc/app.conf')
  const ino = u.getattr(id)[S_INO]
  const attr = new Float64Array(STAT_LEN)
  attr[S_MODE] = 0o600
  await u.setattr(id, SET_MODE, attr)
  t.equal(u.getattr(id)[S_INO], ino, 'chmod copy-up keeps st_ino')
  t.equal(u.getattr(id)[S_MODE] & 0o7777, 0o600)
  t.ok(u.getattr(id)[S_MTIME] > 0 && u.getattr(id)[S_MTIME_NS] >= 0)
})

t.test('a read-only union refuses writes with EROFS', async (t) => {
  const dir = t.testdir({ l: { f: 'x' } })
  const u = new UnionFs([new DirLayer(path.join(dir, 'l'))], null)
  await t.rejects(u.open(lookup(u, 'f'), fs.constants.O_WRONLY), { code: 'EROFS' })
  await t.rejects(u.mkdir(ROOT_ID, 'd', 0o755, ROOT_CALLER), { code: 'EROFS' })
  t.equal(native.readdir(native.openat(-100, dir, 0, 0))[0].length, 1)
})
