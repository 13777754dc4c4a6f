// fuse-overlayfs's xattr_permissions=1|2, against the real fuse-overlayfs
// on the same upper: owners and modes set through strata are recorded in
// security.fuseoverlayfs.override_stat (1) or user.fuseoverlayfs.override_stat
// (2) and not on the files, read back through strata and through
// fuse-overlayfs alike, and the other way round; the record is invisible
// and unwritable through the mount; lowers made with containers/storage's
// force_mask (user.containers.override_stat) read as their records say.
// The =2 runs have the daemons without CAP_CHOWN, as a user who cannot
// chown (the reason the option exists): a plain mount then fails a chown.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mountsUnder, mountedType } from '../fixtures/mount-overlay.js'

const repo = path.resolve(import.meta.dirname, '..', '..')
const strata = path.join(repo, 'bin', 'strata')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

type Impl = 'strata' | 'fuse-overlayfs'
interface Dirs { root: string, l: string, u: string, w: string, m: string, env: NodeJS.ProcessEnv }

const NAME = { 1: 'security.fuseoverlayfs.override_stat', 2: 'user.fuseoverlayfs.override_stat' } as const

function dirs (t: Test): Dirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-xperm-'))
  const d = { root, l: `${root}/l`, u: `${root}/u`, w: `${root}/w`, m: `${root}/m`, env: { ...process.env, STRATA_RUN_DIR: `${root}/run`, STRATA_ROOT: `${root}/store` } }
  for (const p of [d.l, `${d.l}/d`, d.u, d.w, d.m]) fs.mkdirSync(p)
  fs.writeFileSync(`${d.l}/f`, 'lower f\n')
  fs.writeFileSync(`${d.l}/g`, 'lower g\n')
  fs.chownSync(`${d.l}/f`, 1000, 1000)
  fs.chownSync(`${d.l}/g`, 1001, 1002)
  fs.chmodSync(`${d.l}/g`, 0o640)
  t.teardown(() => {
    for (const mp of mountsUnder(root).reverse()) {
      if (spawnSync('umount', [mp]).status !== 0) spawnSync('umount', ['-l', mp])
    }
    spawnSync('rm', ['-rf', '--one-file-system', root])
  })
  return d
}

const run = (d: Dirs, cmd: string, args: string[]): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { encoding: 'utf8', env: d.env, timeout: 60000 })

/** Mounts `impl` on d.m; `noChown`: the daemon without CAP_CHOWN (setpriv drops it from its bounding set). */
function mount (t: Test, d: Dirs, impl: Impl, opts: string, noChown: boolean): SpawnSyncReturns<string> {
  const o = `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w}${opts ? ',' + opts : ''}`
  const bin = impl === 'strata' ? strata : 'fuse-overlayfs'
  const argv = [...(noChown ? ['setpriv', '--bounding-set=-chown', '--'] : []), bin, '-o', o, d.m]
  const r = run(d, argv[0], argv.slice(1))
  if (r.status === 0) t.equal(mountedType(d.m), impl === 'strata' ? 'fuse.strata' : 'fuse.fuse-overlayfs', `${impl} -o ${opts} mounted`)
  return r
}

function mountOk (t: Test, d: Dirs, impl: Impl, opts: string, noChown: boolean): void {
  const r = mount(t, d, impl, opts, noChown)
  t.equal(r.status, 0, `${impl} mounted (${r.stderr.trim()})`)
}

async function umountOk (t: Test, d: Dirs, impl: Impl): Promise<void> {
  const r = impl === 'strata' ? run(d, strata, ['umount', d.m]) : run(d, 'umount', [d.m])
  t.equal(r.status, 0, `${impl} unmounted ${r.stderr.trim()}`)
  // The daemon is gone once its record is (strata) or a moment after the session ends.
  const rec = `${d.root}/run/mounts/${encodeURIComponent(d.m)}.json`
  for (let i = 0; i < 100 && fs.existsSync(rec); i++) await sleep(50)
}

const sh = (script: string): SpawnSyncReturns<string> => spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: 60000 })
const shOk = (t: Test, script: string): void => {
  const r = sh(script)
  t.equal(r.status, 0, `${script} ${r.stderr.trim()}`)
}

/** uid:gid:mode (octal, type bits included) of each path under the mount, as stat shows it. */
function stats (m: string, paths: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of paths) {
    const s = fs.lstatSync(path.join(m, p))
    out[p] = `${s.uid}:${s.gid}:${s.mode.toString(8)}`
  }
  return out
}

const xattr = (p: string, name: string): string | null => {
  const r = spawnSync('getfattr', ['-h', '--absolute-names', '--only-values', '-n', name, p], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout : null
}
const xattrNames = (p: string): string => spawnSync('getfattr', ['-h', '--absolute-names', '-d', '-m', '-', p], { encoding: 'utf8' }).stdout
const owner = (p: string): string => { const s = fs.lstatSync(p); return `${s.uid}:${s.gid}` }

const PATHS = ['.', 'f', 'g', 'd', 'new', 'nd', 'link']

// What a container's root does to its files (chown to users the daemon
// cannot give files to, set-id modes), through whichever mount.
const WORK = (m: string, link = true): string => [
  `chown 1234:1235 ${m}/f`, `chmod 4710 ${m}/f`, `chmod 600 ${m}/g`, `chown 5:6 ${m}/d`,
  `echo new > ${m}/new`, `chown 42:43 ${m}/new`, `mkdir -m 700 ${m}/nd`, `chown 7:8 ${m}/nd`, ...(link ? [`ln -s f ${m}/link`] : []),
].join(' && ')

async function strataWritesFuseOverlayfsReads (t: Test, n: 1 | 2): Promise<void> {
  const d = dirs(t)
  const noChown = n === 2
  const opt = `xattr_permissions=${n}`
  mountOk(t, d, 'strata', opt, noChown)
  shOk(t, WORK(d.m))
  const seen = stats(d.m, PATHS)
  t.same(
    { f: seen.f, g: seen.g, d: seen.d, new: seen.new, nd: seen.nd },
    { f: '1234:1235:104710', g: '1001:1002:100600', d: '5:6:40755', new: '42:43:100644', nd: '7:8:40700' },
    'stat through strata shows the owners and modes set')
  // Hidden, as fuse-overlayfs hides its own records.
  t.equal(xattr(`${d.m}/f`, NAME[n]), null, 'getxattr of the record through the mount: no such attribute')
  t.notMatch(xattrNames(`${d.m}/f`), /override_stat/, 'listxattr through the mount leaves it out')
  t.not(sh(`setfattr -n ${NAME[n]} -v 0:0:100777 ${d.m}/new`).status, 0, 'and it cannot be set through the mount')
  t.equal(owner(`${d.m}/new`), '42:43', 'so the owner stays what chown made it')
  await umountOk(t, d, 'strata')

  // On disk: the records, and the daemon's own owner on the files.
  t.equal(xattr(`${d.u}/f`, NAME[n]), '1234:1235:104710', 'the record of f')
  t.equal(xattr(`${d.u}/nd`, NAME[n]), '7:8:40700', 'the record of a new directory')
  t.equal(xattr(`${d.u}/new`, NAME[n]), '42:43:100644', 'the record of a new file (umask applied)')
  t.equal(xattr(d.u, NAME[n]), '0:0:40755', 'the upper root is recorded at mount, from its own owner and mode')
  for (const p of ['f', 'g', 'd', 'new', 'nd']) t.equal(owner(`${d.u}/${p}`), '0:0', `${p}: the real owner is the daemon's`)
  t.equal(fs.statSync(`${d.u}/f`).mode & 0o7000, 0, 'no real set-id bits')

  mountOk(t, d, 'fuse-overlayfs', opt, noChown)
  t.same(stats(d.m, PATHS), seen, 'fuse-overlayfs with the same option shows the same stat')
  await umountOk(t, d, 'fuse-overlayfs')
}

async function fuseOverlayfsWritesStrataReads (t: Test, n: 1 | 2): Promise<void> {
  const d = dirs(t)
  const noChown = n === 2
  const opt = `xattr_permissions=${n}`
  mountOk(t, d, 'fuse-overlayfs', opt, noChown)
  // fuse-overlayfs 1.10 fails symlink(2) with ENOMEM under xattr_permissions=1.
  const link = n === 2
  shOk(t, WORK(d.m, link))
  const seen = stats(d.m, link ? PATHS : PATHS.filter((p) => p !== 'link'))
  // fuse-overlayfs 1.10 resets the owner on chmod and ignores the umask
  // on create; whatever it shows, strata must show the same.
  t.equal(seen.d, '5:6:40755', 'fuse-overlayfs took the chown of a lower directory')
  t.equal(seen.nd.split(':').slice(0, 2).join(':'), '7:8', 'and of a new one')
  await umountOk(t, d, 'fuse-overlayfs')
  t.ok(xattr(`${d.u}/d`, NAME[n]), `fuse-overlayfs wrote ${NAME[n]}`)
  mountOk(t, d, 'strata', opt, noChown)
  t.same(stats(d.m, Object.keys(seen)), seen, 'strata with the same option shows the same stat')
  t.equal(xattr(`${d.m}/d`, NAME[n]), null, 'and hides the record')
  await umountOk(t, d, 'strata')
}

t.test('xattr_permissions=2, daemons without CAP_CHOWN: strata writes, fuse-overlayfs reads', async (t) => {
  // The scenario is real: without the option such a daemon cannot chown.
  const d = dirs(t)
  mountOk(t, d, 'strata', '', true)
  t.not(sh(`chown 1234:1235 ${d.m}/f`).status, 0, 'a plain mount by a daemon without CAP_CHOWN fails a chown')
  await umountOk(t, d, 'strata')
  await strataWritesFuseOverlayfsReads(t, 2)
})

t.test('xattr_permissions=2, daemons without CAP_CHOWN: fuse-overlayfs writes, strata reads', async (t) => {
  await fuseOverlayfsWritesStrataReads(t, 2)
})

t.test('xattr_permissions=1 (security.*, as root): strata writes, fuse-overlayfs reads', async (t) => {
  await strataWritesFuseOverlayfsReads(t, 1)
})

t.test('xattr_permissions=1 (security.*, as root): fuse-overlayfs writes, strata reads', async (t) => {
  await fuseOverlayfsWritesStrataReads(t, 1)
})

t.test('bad values fail naming the option, and mount nothing', async (t) => {
  const d = dirs(t)
  for (const v of ['3', 'junk', '']) {
    const r = mount(t, d, 'strata', `xattr_permissions=${v}`, false)
    t.not(r.status, 0, `xattr_permissions=${v}: refused`)
    t.match(r.stderr, new RegExp(`"xattr_permissions=${v}": xattr_permissions takes 0, 1`), r.stderr.trim())
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
    t.equal(mountedType(d.m), undefined)
  }
  t.equal(xattr(d.u, NAME[2]), null, 'the upper is left as it was')
})

// containers/storage's force_mask: every file of the layer and its root
// carry user.containers.override_stat; fuse-overlayfs honours it in any
// lower whose root has it, with or without the option.
t.test('a lower with user.containers.override_stat reads as recorded, as through fuse-overlayfs', async (t) => {
  const d = dirs(t)
  const rec: Record<string, string> = { '': '0:0:040755', f: '100:101:0100600', g: '102:103:0104755', d: '104:105:040711' }
  for (const [p, v] of Object.entries(rec)) shOk(t, `setfattr -n user.containers.override_stat -v ${v} ${path.join(d.l, p)}`)
  const paths = ['.', 'f', 'g', 'd']
  mountOk(t, d, 'strata', '', false)
  const seen = stats(d.m, paths)
  t.same(seen, { '.': '0:0:40755', f: '100:101:100600', g: '102:103:104755', d: '104:105:40711' }, 'stat shows the records')
  t.equal(xattr(`${d.m}/f`, 'user.containers.override_stat'), null, 'the record is not shown')
  shOk(t, `echo more >> ${d.m}/f`)
  t.equal(owner(`${d.m}/f`), '100:101', 'a copy-up keeps the recorded owner')
  t.equal(owner(`${d.u}/f`), '100:101', 'and, the upper taking real owners, makes it the real one')
  t.equal(fs.statSync(`${d.u}/f`).mode & 0o7777, 0o600)
  await umountOk(t, d, 'strata')
  fs.rmSync(`${d.u}/f`)
  mountOk(t, d, 'fuse-overlayfs', '', false)
  t.same(stats(d.m, paths), seen, 'fuse-overlayfs shows the same')
  await umountOk(t, d, 'fuse-overlayfs')
  // With =2 on a fresh upper, its root's record comes from the lower's, as fuse-overlayfs does.
  fs.rmSync(d.u, { recursive: true })
  fs.mkdirSync(d.u)
  fs.chownSync(d.u, 9, 9)
  mountOk(t, d, 'strata', 'xattr_permissions=2', false)
  t.equal(owner(d.m), '0:0', "the mount's root reads as the lower root's record")
  await umountOk(t, d, 'strata')
  t.equal(xattr(d.u, NAME[2]), '0:0:040755', "the upper root got the lower root's record")
})

// The rootless case itself: a plain user (mounting through fusermount3)
// cannot give files away, nor set security.* xattrs.
t.test('a plain user: =2 records what chmod sets and fuse-overlayfs reads it; =1 is refused', async (t) => {
  if ((fs.statSync('/dev/fuse').mode & 0o006) !== 0o006) { t.plan(0, '/dev/fuse is not open to users (scripts/setup makes it 0666)'); return }
  const name = `strx${process.pid % 100000}`
  const add = spawnSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/bin/sh', name], { encoding: 'utf8' })
  t.equal(add.status, 0, `useradd ${name} ${add.stderr}`)
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout)
  const d = dirs(t)
  fs.chmodSync(d.root, 0o755)
  const xdg = `${d.root}/xdg`
  fs.mkdirSync(xdg, { mode: 0o700 })
  spawnSync('chown', ['-R', `${uid}:${uid}`, d.root])
  t.teardown(() => { spawnSync('userdel', [name]) })
  // env -i: tap's NODE_OPTIONS hooks would write where the user cannot. No
  // spare: one would outlive the test, as the user's.
  const as = (script: string): SpawnSyncReturns<string> => spawnSync('env', ['-i', `PATH=${process.env.PATH!}`, `XDG_RUNTIME_DIR=${xdg}`, 'LANG=C', 'STRATA_SPARE=0',
    'setpriv', '--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'sh', '-c', script], { encoding: 'utf8', timeout: 120000 })
  const L = `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w}`
  const look = `(cd ${d.m} && stat -c '%n %u:%g %a' . f g d mine nd)`

  let r = as(`${strata} -o ${L},xattr_permissions=1 ${d.m}`)
  t.not(r.status, 0, '=1 as a plain user: refused')
  t.match(r.stderr, /xattr_permissions=1: cannot set security\.fuseoverlayfs\.override_stat on upperdir .*CAP_SYS_ADMIN/, r.stderr.trim())
  t.equal(mountedType(d.m), undefined, 'nothing mounted')

  r = as(`${strata} -o ${L},xattr_permissions=2 ${d.m} && echo mine > ${d.m}/mine && chmod 4750 ${d.m}/mine && chmod 600 ${d.m}/f && mkdir -m 711 ${d.m}/nd && ${look}; s=$?; fusermount3 -u ${d.m}; exit $s`)
  t.equal(r.status, 0, `strata as the user (${r.stderr.trim()})`)
  const seen = r.stdout
  t.match(seen, new RegExp(`^mine ${uid}:${uid} 4750$`, 'm'), 'a set-id mode is recorded')
  t.match(seen, new RegExp(`^f ${uid}:${uid} 600$`, 'm'), 'a chmod of a lower file too')
  t.equal(xattr(`${d.u}/mine`, NAME[2]), `${uid}:${uid}:104750`, 'in user.fuseoverlayfs.override_stat')
  t.equal(fs.statSync(`${d.u}/mine`).mode & 0o7777, 0o755, 'the backing file: rwxr-xr-x, no set-id bit')
  t.same(mountsUnder(d.root), [], 'unmounted')

  r = as(`fuse-overlayfs -o ${L},xattr_permissions=2 ${d.m} && ${look}; s=$?; fusermount3 -u ${d.m}; exit $s`)
  t.equal(r.status, 0, `fuse-overlayfs as the user (${r.stderr.trim()})`)
  t.equal(r.stdout, seen, 'fuse-overlayfs shows the same')
  t.same(mountsUnder(d.root), [], 'unmounted')
})
