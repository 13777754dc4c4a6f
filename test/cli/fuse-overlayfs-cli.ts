// strata as a drop-in for fuse-overlayfs: its command line
// (`strata -o OPTS MNT`, what containers/storage runs as mount_program),
// unmounting by plain umount(8) and fusermount3 -u, and the effect of each
// option it documents: uidmapping/gidmapping, squash_to_*, static_nlink,
// volatile and fsync=0 (counted with strace on the daemon), the kernel
// overlay options callers pass, and nosuid,nodev for mounts by name.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mountsUnder, mountedType } from '../fixtures/mount-overlay.js'

const repo = path.resolve(import.meta.dirname, '..', '..')
const strata = path.join(repo, 'bin', 'strata')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface Dirs { root: string, l: string, u: string, w: string, m: string, env: NodeJS.ProcessEnv }

function dirs (t: Test): Dirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-fo-'))
  const d = { root, l: `${root}/l`, u: `${root}/u`, w: `${root}/w`, m: `${root}/m`, env: { ...process.env, STRATA_RUN_DIR: `${root}/run`, STRATA_ROOT: `${root}/store` } }
  for (const p of [d.l, d.u, d.w, d.m]) fs.mkdirSync(p)
  fs.writeFileSync(`${d.l}/f`, 'lower')
  t.teardown(() => {
    for (const mp of mountsUnder(root).reverse()) {
      if (spawnSync(strata, ['umount', mp], { env: d.env }).status !== 0) spawnSync('umount', ['-l', mp])
    }
    spawnSync('rm', ['-rf', '--one-file-system', root])
  })
  return d
}

const run = (d: Dirs, args: string[], cmd = strata): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { encoding: 'utf8', env: d.env, timeout: 60000 })

const layers = (d: Dirs): string => `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w}`

const mountOk = (t: Test, d: Dirs, opts: string, extra: string[] = []): void => {
  const r = run(d, ['-o', `${layers(d)}${opts ? ',' + opts : ''}`, ...extra, d.m])
  t.equal(r.status, 0, `mounted with ${opts || 'the layers alone'} (${r.stderr.trim()})`)
  t.equal(mountedType(d.m), 'fuse.strata')
}

const umountOk = (t: Test, d: Dirs): void => {
  t.equal(run(d, ['umount', d.m]).status, 0, 'unmounted')
}

const owner = (p: string): string => { const s = fs.lstatSync(p); return `${s.uid}:${s.gid}` }

/** Waits for the daemon's record to go (it removes it when its session ends). */
async function recordGone (d: Dirs): Promise<boolean> {
  const rec = `${d.root}/run/mounts/${encodeURIComponent(d.m)}.json`
  for (let i = 0; i < 100 && fs.existsSync(rec); i++) await sleep(50)
  return !fs.existsSync(rec)
}

t.test('the -o command line mounts; plain umount and fusermount3 -u unmount', async (t) => {
  const d = dirs(t)
  mountOk(t, d, '')
  t.equal(fs.readFileSync(`${d.m}/f`, 'utf8'), 'lower')
  fs.writeFileSync(`${d.m}/new`, 'n')
  t.equal(run(d, [d.m], 'umount').status, 0, 'umount(8) MOUNTPOINT')
  t.equal(mountedType(d.m), undefined, 'no mount left')
  t.ok(await recordGone(d), 'the daemon removed its record once unmounted')
  t.equal(fs.readFileSync(`${d.u}/new`, 'utf8'), 'n', 'the write is in the upper')

  // -oOPTS joined, several -o, and -f/-d spelled as fuse-overlayfs has them
  const r = run(d, [`-olowerdir=${d.l}`, '-o', `upperdir=${d.u},workdir=${d.w}`, d.m])
  t.equal(r.status, 0, r.stderr)
  t.same(fs.readdirSync(d.m).sort(), ['f', 'new'])
  t.equal(run(d, ['-u', d.m], 'fusermount3').status, 0, 'fusermount3 -u MOUNTPOINT')
  t.equal(mountedType(d.m), undefined, 'no mount left')
  t.ok(await recordGone(d), 'record removed after fusermount3 -u')

  const fg = spawn(strata, ['-f', '-o', layers(d), d.m], { env: d.env, stdio: 'ignore' })
  t.teardown(() => { fg.kill('SIGKILL') })
  for (let i = 0; i < 100 && mountedType(d.m) === undefined; i++) await sleep(50)
  t.equal(mountedType(d.m), 'fuse.strata', '-f serves in the foreground')
  t.equal(run(d, [d.m], 'umount').status, 0)
  t.equal(await new Promise((r) => fg.on('exit', r)), 0, 'and exits 0 once unmounted')
})

t.test('probing: -V, --version, --help', async (t) => {
  const d = dirs(t)
  const pkg = JSON.parse(fs.readFileSync(`${repo}/package.json`, 'utf8')) as { version: string }
  for (const a of ['-V', '--version']) {
    const r = run(d, [a])
    t.equal(r.status, 0, `${a} exits 0`)
    t.match(r.stdout, pkg.version, `${a} prints the version`)
  }
  const h = run(d, ['--help'])
  t.equal(h.status, 0)
  t.match(h.stdout, /mount/)
})

t.test('bad options fail naming the option, and mount nothing', async (t) => {
  const d = dirs(t)
  for (const [opt, msg] of [
    ['frobnicate', /unknown mount option "frobnicate"/],
    ['redirect_dir=maybe', /unknown mount option "redirect_dir=maybe"/],
    ['uidmapping=0:100000', /uidmapping=0:100000: expected layer:mount:count/],
    ['squash_to_uid=root', /squash_to_uid=root: expected a numeric id/],
    ['xattr_permissions=3', /"xattr_permissions=3": xattr_permissions takes 0, 1 .* or 2/],
    ['xattr_permissions=junk', /"xattr_permissions=junk": xattr_permissions takes/],
  ] as Array<[string, RegExp]>) {
    const r = run(d, ['-o', `${layers(d)},${opt}`, d.m])
    t.not(r.status, 0, `${opt}: refused`)
    t.match(r.stderr, msg, `${opt}: ${r.stderr.trim()}`)
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
    t.equal(mountedType(d.m), undefined)
  }
  // What callers pass along: kernel overlay options and fuse-overlayfs's no-ops.
  mountOk(t, d, 'redirect_dir=off,index=off,metacopy=off,xino=off,noacl,threaded=1,fsync=1,xattr_permissions=0')
  umountOk(t, d)
})

// fuse-overlayfs's order, LAYER:MOUNT:COUNT: here the layers hold host ids
// 100000+ and the mount shows them from 0, as a user namespace would.
t.test('uidmapping/gidmapping: layer owners read as mapped owners, and back', async (t) => {
  const d = dirs(t)
  fs.chownSync(`${d.l}/f`, 100000, 100002)
  fs.writeFileSync(`${d.l}/unmapped`, '')
  fs.chownSync(`${d.l}/unmapped`, 5, 5)
  fs.mkdirSync(`${d.l}/dir`)
  fs.chownSync(`${d.l}/dir`, 100033, 100033)
  mountOk(t, d, 'uidmapping=100000:0:65536,gidmapping=100000:0:1:100001:1:65535')
  t.equal(owner(`${d.m}/f`), '0:2', 'a lower file of host 100000:100002 shows as 0:2')
  t.equal(owner(`${d.m}/dir`), '33:33')
  t.equal(owner(`${d.m}/unmapped`), '65534:65534', 'an unmapped host id reads as the overflow id')
  fs.writeFileSync(`${d.m}/made`, 'x')
  fs.mkdirSync(`${d.m}/made-dir`)
  fs.symlinkSync('f', `${d.m}/made-link`)
  t.equal(owner(`${d.m}/made`), '0:0', 'made as 0, seen as 0')
  t.equal(owner(`${d.u}/made`), '100000:100000', 'and lands as 100000 in the upper')
  t.equal(owner(`${d.u}/made-link`), '100000:100000', 'symlinks too')
  fs.chownSync(`${d.m}/made`, 7, 8)
  t.equal(owner(`${d.u}/made`), '100007:100008', 'chown maps container ids to host ids')
  t.equal(owner(`${d.m}/made`), '7:8')
  fs.appendFileSync(`${d.m}/f`, '+')
  t.equal(owner(`${d.u}/f`), '100000:100002', 'copy-up keeps the host owner')
  t.equal(owner(`${d.m}/f`), '0:2', 'and the upper file still reads mapped')
  fs.chownSync(`${d.m}/made`, 70000, 0)
  t.equal(owner(`${d.u}/made`), '65534:100000', 'chown to an unmapped id stores the overflow id, as fuse-overlayfs does')
  umountOk(t, d)
})

t.test('squash_to_root, squash_to_uid/gid: every owner reads as one', async (t) => {
  const d = dirs(t)
  fs.chownSync(`${d.l}/f`, 1234, 4321)
  mountOk(t, d, 'squash_to_root')
  t.equal(owner(`${d.m}/f`), '0:0')
  umountOk(t, d)
  mountOk(t, d, 'squash_to_uid=7,squash_to_gid=8')
  t.equal(owner(`${d.m}/f`), '7:8')
  fs.writeFileSync(`${d.m}/made`, '')
  t.equal(owner(`${d.m}/made`), '7:8')
  t.equal(owner(`${d.u}/made`), '0:0', 'the layers keep real owners')
  umountOk(t, d)
  mountOk(t, d, '')
  t.equal(owner(`${d.m}/f`), '1234:4321', 'without squash, the real owner')
  umountOk(t, d)
})

t.test('static_nlink: directories report st_nlink 1', async (t) => {
  const d = dirs(t)
  for (const s of ['a', 'b', 'c']) fs.mkdirSync(`${d.l}/${s}`)
  mountOk(t, d, '')
  t.equal(fs.statSync(d.m).nlink, 5, 'by default, 2 + subdirectories')
  umountOk(t, d)
  mountOk(t, d, 'static_nlink')
  t.equal(fs.statSync(d.m).nlink, 1)
  t.equal(fs.statSync(`${d.m}/a`).nlink, 1)
  t.equal(fs.statSync(`${d.m}/f`).nlink, 1, 'files keep theirs')
  fs.linkSync(`${d.m}/f`, `${d.m}/f2`)
  t.equal(fs.statSync(`${d.m}/f2`).nlink, 2, 'files keep theirs')
  umountOk(t, d)
})

/** Mounts under strace and counts the fsync/fdatasync calls the daemon makes. */
async function fsyncsDuring (t: Test, d: Dirs, opts: string, work: () => void): Promise<number> {
  const log = `${d.root}/strace-${Math.random().toString(36).slice(2)}`
  const tracer = spawn('strace', ['-f', '-qq', '-e', 'trace=fsync,fdatasync', '-o', log, strata, '-o', `${layers(d)}${opts ? ',' + opts : ''}`, d.m], { env: d.env, stdio: 'ignore' })
  t.teardown(() => { tracer.kill('SIGKILL') })
  const exited = new Promise((r) => tracer.on('exit', r))
  for (let i = 0; i < 400 && mountedType(d.m) === undefined; i++) await sleep(50)
  t.equal(mountedType(d.m), 'fuse.strata', `mounted under strace (${opts || 'default'})`)
  work()
  t.equal(run(d, [d.m], 'umount').status, 0)
  await exited
  return fs.readFileSync(log, 'utf8').split('\n').filter((l) => /\b(fsync|fdatasync)\(/.test(l)).length
}

t.test('volatile and fsync=0: no fsync reaches the upper; volatile marks it dirty as the kernel does', async (t) => {
  if (spawnSync('strace', ['-V']).status !== 0) { t.plan(0, 'strace is not installed'); return }
  const d = dirs(t)
  fs.writeFileSync(`${d.l}/big`, Buffer.alloc(1 << 16, 1))
  let n = 0
  const work = (): void => {
    const name = `${d.m}/synced-${n++}`
    const fd = fs.openSync(name, 'w')
    fs.writeSync(fd, 'data')
    fs.fsyncSync(fd)
    fs.fdatasyncSync(fd)
    fs.closeSync(fd)
    fs.appendFileSync(`${d.m}/big`, 'x') // a copy-up with data
    const dir = fs.openSync(d.m, 'r')
    fs.fsyncSync(dir)
    fs.closeSync(dir)
  }
  const plain = await fsyncsDuring(t, d, '', work)
  t.ok(plain >= 3, `a normal mount syncs (copy-up, fsync, fdatasync): ${plain} calls`)
  fs.rmSync(`${d.u}/big`)
  t.equal(await fsyncsDuring(t, d, 'fsync=0', work), 0, 'fsync=0: none')
  t.notOk(fs.existsSync(`${d.w}/work/incompat/volatile`), 'fsync=0 leaves no dirty marker')
  fs.rmSync(`${d.u}/big`)
  t.equal(await fsyncsDuring(t, d, 'volatile', work), 0, 'volatile: none')
  t.ok(fs.existsSync(`${d.w}/work/incompat/volatile/dirty`), 'volatile leaves work/incompat/volatile/dirty, as the kernel does')

  // The kernel's rule: a dirty upper mounts again only volatile.
  const again = run(d, ['-o', layers(d), d.m])
  t.not(again.status, 0, 'a non-volatile mount of a dirty upper is refused')
  t.match(again.stderr, /left by a volatile mount/)
  t.equal(mountedType(d.m), undefined)
  const kernel = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', layers(d), d.m], { encoding: 'utf8' })
  if (kernel.status === 0) spawnSync('umount', [d.m])
  t.not(kernel.status, 0, 'kernel overlayfs refuses the same upper/work: the marker is its own')
  mountOk(t, d, 'volatile')
  t.equal(fs.readFileSync(`${d.m}/synced-0`, 'utf8'), 'data', 'volatile after volatile is fine')
  umountOk(t, d)
  fs.rmSync(`${d.w}/work/incompat`, { recursive: true })
  mountOk(t, d, '')
  umountOk(t, d)
})

t.test('mount by name: nosuid,nodev unless -o suid,dev; raw layers keep dev,suid', async (t) => {
  const d = dirs(t)
  fs.mkdirSync(`${d.root}/img`)
  fs.writeFileSync(`${d.root}/img/hello`, 'hi')
  const imp = run(d, ['image', 'import', `${d.root}/img`, 'nosuid-test:1'])
  t.equal(imp.status, 0, imp.stderr)
  const optsOf = (): string[] => {
    const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === d.m) ?? ''
    return line.split(' ')[5]?.split(',') ?? []
  }
  t.equal(run(d, ['mount', 'nosuid-test:1', d.m]).status, 0)
  t.equal(fs.readFileSync(`${d.m}/hello`, 'utf8'), 'hi')
  t.ok(optsOf().includes('nosuid') && optsOf().includes('nodev'), `by name: ${optsOf().join(',')}`)
  umountOk(t, d)
  t.equal(run(d, ['mount', '-o', 'suid,dev', 'nosuid-test:1', d.m]).status, 0)
  t.notOk(optsOf().includes('nosuid') || optsOf().includes('nodev'), `-o suid,dev: ${optsOf().join(',')}`)
  umountOk(t, d)
  mountOk(t, d, '')
  t.notOk(optsOf().includes('nosuid') || optsOf().includes('nodev'), `raw layers as root: ${optsOf().join(',')}`)
  umountOk(t, d)
})
