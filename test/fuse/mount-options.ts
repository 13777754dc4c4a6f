// Unit tests of mount-option parsing (src/fuse/mount-options.ts): both
// spellings mean the same request, each option lands where it should, and
// bad input is refused by name before anything is mounted. Nothing here
// mounts: parseMountArgs only reads the paths it is given.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import { spawnSync } from 'node:child_process'
import { parseMountArgs, redirectDirOn } from '../../src/fuse/mount-options.js'

function dirs (t: Test): Record<'l1' | 'l2' | 'u' | 'w' | 'm' | 'file', string> {
  const root = t.testdir({ l1: {}, l2: {}, u: {}, w: {}, m: {}, file: 'x' })
  return Object.fromEntries(['l1', 'l2', 'u', 'w', 'm', 'file'].map((n) => [n, path.join(root, n)])) as Record<'l1' | 'l2' | 'u' | 'w' | 'm' | 'file', string>
}

t.test('flags and -o lowerdir=… give the same request', async (t) => {
  const d = dirs(t)
  const byFlags = parseMountArgs({ mountpoint: d.m, lowerdir: `${d.l2}:${d.l1}`, upperdir: d.u, workdir: d.w })
  const byOpts = parseMountArgs({ mountpoint: d.m, options: [`lowerdir=${d.l2}:${d.l1},upperdir=${d.u}`, `workdir=${d.w}`] })
  t.same(byOpts, byFlags)
  t.same(byFlags.lowerdirs, [d.l2, d.l1], 'top first, as the kernel reads them')
  t.equal(byFlags.upperdir, d.u)
  t.equal(byFlags.readOnly, false)
  t.equal(byFlags.timeout, 86400, 'names and attributes cached a day by default')
  t.ok(byFlags.fuseOptions.includes('allow_other') && byFlags.fuseOptions.includes('default_permissions'), 'root serves everyone, the kernel checks permissions')
  t.ok(byFlags.fuseOptions.includes('dev') && byFlags.fuseOptions.includes('suid'), 'raw layers as root keep devices and setuid (a rootfs)')
})

t.test('a mount by name is nosuid,nodev unless told otherwise; no upper means read-only', async (t) => {
  const d = dirs(t)
  const named = parseMountArgs({ mountpoint: d.m, lowerdir: d.l1, upperdir: d.u, workdir: d.w, byName: true })
  t.ok(named.fuseOptions.includes('nodev') && named.fuseOptions.includes('nosuid'))
  const asked = parseMountArgs({ mountpoint: d.m, lowerdir: d.l1, byName: true, options: ['suid,dev'] })
  t.ok(asked.fuseOptions.includes('suid') && !asked.fuseOptions.includes('nosuid'), '-o suid,dev wins')
  t.equal(asked.readOnly, true)
  t.ok(asked.fuseOptions.includes('ro'), 'no upper: the kernel mount is ro too')
  const ro = parseMountArgs({ mountpoint: d.m, lowerdir: d.l1, upperdir: d.u, workdir: d.w, options: ['ro'] })
  t.equal(ro.readOnly, true)
  t.equal(ro.upperdir, undefined, 'ro with an upper serves the lowers only')
})

t.test("fuse-overlayfs's options", async (t) => {
  const d = dirs(t)
  const base = { mountpoint: d.m, lowerdir: d.l1, upperdir: d.u, workdir: d.w }
  const v = parseMountArgs({ ...base, options: ['volatile'] })
  t.equal(v.volatile, true)
  t.equal(v.fsync, false, 'volatile implies no fsync')
  t.equal(parseMountArgs({ ...base, options: ['fsync=0'] }).fsync, false)
  t.equal(parseMountArgs({ ...base, options: ['fsync=1'] }).fsync, true)
  const m = parseMountArgs({ ...base, options: ['uidmapping=0:100000:65536,gidmapping=0:100000:65536'] })
  t.equal(m.uidmap.length, 1)
  t.equal(m.gidmap.length, 1)
  const sq = parseMountArgs({ ...base, options: ['squash_to_uid=7,squash_to_gid=8,static_nlink'] })
  t.equal(sq.squashUid, 7)
  t.equal(sq.squashGid, 8)
  t.equal(sq.staticNlink, true)
  const root = parseMountArgs({ ...base, options: ['squash_to_root'] })
  t.same([root.squashUid, root.squashGid], [0, 0])
  t.equal(parseMountArgs({ ...base, options: ['userxattr'] }).userxattr, true)
  const quiet = parseMountArgs({ ...base, options: ['noacl,threaded,fast_ino,writeback,xattr_permissions=0,defaults,noauto,x-systemd.automount'] })
  t.same(quiet.fuseOptions.filter((o) => !['allow_other', 'default_permissions', 'dev', 'suid'].includes(o)), [], 'accepted, nothing passed to the kernel')
  t.equal(parseMountArgs({ ...base, options: ['timeout=5'] }).timeout, 5)
  t.equal(quiet.xattrPermissions, 0)
  for (const n of [1, 2]) {
    const x = parseMountArgs({ ...base, options: [`xattr_permissions=${n}`] })
    t.equal(x.xattrPermissions, n, `xattr_permissions=${n} kept`)
    t.equal(x.acl, false, 'no kernel ACL checks against the real owners')
    t.throws(() => parseMountArgs({ ...base, options: [`xattr_permissions=${n}`], ownContainer: true }), { code: 'EINVAL', message: /xattr_permissions=\d": not for a container of the store/ }, 'but not for a container strata commits')
  }
})

t.test('kernel overlay options are kept by name; redirect_dir decides directory renames', async (t) => {
  const d = dirs(t)
  const base = { mountpoint: d.m, lowerdir: d.l1, upperdir: d.u, workdir: d.w }
  const k = parseMountArgs({ ...base, options: ['redirect_dir=on,index=off,metacopy=off,xino=auto'] })
  t.same(k.kernelOverlay, { redirect_dir: 'on', index: 'off', metacopy: 'off', xino: 'auto' })
  t.equal(redirectDirOn(k), true)
  for (const v of ['off', 'follow', 'nofollow']) t.equal(redirectDirOn(parseMountArgs({ ...base, options: [`redirect_dir=${v}`] })), false, `redirect_dir=${v}: EXDEV`)
  const module = fs.readFileSync('/sys/module/overlay/parameters/redirect_dir', 'utf8').trim() === 'Y'
  t.equal(redirectDirOn(parseMountArgs(base)), module, 'no option: the kernel module\'s own default')
})

t.test('bad input is refused by name, before anything is mounted', async (t) => {
  const d = dirs(t)
  const base = { mountpoint: d.m, lowerdir: d.l1, upperdir: d.u, workdir: d.w }
  t.throws(() => parseMountArgs({ ...base, options: ['bogus=1'] }), { code: 'EINVAL', message: /unknown mount option "bogus=1"/ })
  t.throws(() => parseMountArgs({ ...base, options: ['redirect_dir=sideways'] }), { code: 'EINVAL', message: /redirect_dir=sideways/ })
  t.throws(() => parseMountArgs({ ...base, options: ['fsync=2'] }), { code: 'EINVAL', message: /fsync=2/ })
  for (const v of ['3', 'yes', '']) {
    t.throws(() => parseMountArgs({ ...base, options: [`xattr_permissions=${v}`] }), { code: 'EINVAL', message: new RegExp(`"xattr_permissions=${v}": xattr_permissions takes 0, 1`) })
  }
  t.throws(() => parseMountArgs({ ...base, options: ['timeout=-1'] }), { code: 'EINVAL', message: /timeout=/ })
  t.throws(() => parseMountArgs({ mountpoint: d.m }), { code: 'EINVAL', message: /no lowerdir/ })
  t.throws(() => parseMountArgs({ mountpoint: d.m, lowerdir: d.l1, upperdir: d.u }), { code: 'EINVAL', message: /go together/ })
  t.throws(() => parseMountArgs({ ...base, lowerdir: `${d.l1}:${d.l1}-gone` }), { code: 'ENOENT', message: new RegExp(`lowerdir ${d.l1}-gone: no such directory`) })
  t.throws(() => parseMountArgs({ ...base, lowerdir: d.file }), { code: 'ENOTDIR', message: /not a directory/ })
  t.throws(() => parseMountArgs({ ...base, workdir: path.join(d.u) }), { code: 'EINVAL', message: /must not be inside each other/ })
  fs.mkdirSync(path.join(d.m, 'inner'))
  t.throws(() => parseMountArgs({ ...base, lowerdir: path.join(d.m, 'inner') }), { code: 'EINVAL', message: /inside the mountpoint/ })
  t.throws(() => parseMountArgs({ ...base, mountpoint: '/proc' }), { code: 'EBUSY', message: /busy/ })
})

t.test('a mount point with a directory bind-mounted on itself is busy too (same device as its parent)', async (t) => {
  // Not t.testdir: its removal would come before the unmount.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bind-'))
  const d = Object.fromEntries(['l1', 'u', 'w', 'm'].map((n) => [n, path.join(root, n)]))
  for (const p of Object.values(d)) fs.mkdirSync(p)
  const bind = spawnSync('mount', ['--bind', d.m, d.m], { encoding: 'utf8' })
  t.teardown(() => {
    if (bind.status === 0) spawnSync('umount', [d.m])
    fs.rmSync(root, { recursive: true, force: true })
  })
  if (bind.status !== 0) { t.fail(`mount --bind ${d.m} ${d.m}: ${bind.stderr.trim()}`); return }
  t.equal(fs.statSync(d.m).dev, fs.statSync(path.dirname(d.m)).dev, 'nothing tells it from its parent by st_dev')
  t.throws(() => parseMountArgs({ mountpoint: d.m, lowerdir: d.l1, upperdir: d.u, workdir: d.w }), { code: 'EBUSY', message: new RegExp(`mountpoint ${d.m} is busy`) })
})
