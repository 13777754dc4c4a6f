// The mount and umount commands as a user meets them: both option
// spellings, mount(8) with -t fuse.strata and fstab, read-only unions, and
// bad input — every refusal names the thing at fault and leaves no mount.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mountsUnder, mountedType } from '../fixtures/mount-overlay.js'

const repo = path.resolve(import.meta.dirname, '..', '..')
const strata = path.join(repo, 'bin', 'strata')
const env = { ...process.env, PATH: `${repo}/bin:${process.env.PATH}` }
const run = (args: string[], opts: { cmd?: string } = {}): SpawnSyncReturns<string> =>
  spawnSync(opts.cmd ?? strata, args, { encoding: 'utf8', env, timeout: 60000 })

interface Dirs { root: string, l1: string, l2: string, u: string, w: string, m: string }

function dirs (t: Tap.Test): Dirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cli-'))
  const d = { root, l1: `${root}/l1`, l2: `${root}/l2`, u: `${root}/u`, w: `${root}/w`, m: `${root}/m` }
  for (const p of [d.l1, d.l2, d.u, d.w, d.m]) fs.mkdirSync(p)
  fs.writeFileSync(`${d.l1}/base`, 'base')
  fs.writeFileSync(`${d.l2}/top`, 'top')
  t.teardown(() => {
    for (const mp of mountsUnder(root).reverse()) {
      if (spawnSync(strata, ['umount', mp]).status !== 0) spawnSync('umount', ['-l', mp])
    }
    spawnSync('rm', ['-rf', '--one-file-system', root])
  })
  return d
}

declare global { namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0] } }

const okMount = (t: Tap.Test, r: SpawnSyncReturns<string>, m: string): void => {
  t.equal(r.status, 0, `mounted (${r.stderr.trim()})`)
  t.equal(mountedType(m), 'fuse.strata')
}

t.test('both spellings, read-only, and umount', async (t) => {
  const d = dirs(t)
  okMount(t, run(['mount', '-o', `lowerdir=${d.l2}:${d.l1},upperdir=${d.u},workdir=${d.w}`, d.m]), d.m)
  t.same(fs.readdirSync(d.m).sort(), ['base', 'top'])
  fs.writeFileSync(`${d.m}/new`, 'n')
  t.equal(run(['umount', d.m]).status, 0)
  t.equal(mountedType(d.m), undefined, 'unmounted')
  t.ok(fs.existsSync(`${d.u}/new`), 'the write landed in the upper dir')
  okMount(t, run(['mount', '--lowerdir', `${d.l2}:${d.l1}`, d.m]), d.m)
  t.match(fs.readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(` ${d.m} [^\\n]*ro`), 'no upper: mounted read-only')
  t.throws(() => fs.writeFileSync(`${d.m}/x`, 'x'), { code: 'EROFS' })
  t.equal(fs.readFileSync(`${d.m}/top`, 'utf8'), 'top')
  t.equal(run(['umount', d.m]).status, 0)
  const again = run(['umount', d.m])
  t.not(again.status, 0)
  t.match(again.stderr, `${d.m} is not mounted`)
})

t.test('mount(8): -t fuse.strata, fstab, generic options', async (t) => {
  const d = dirs(t)
  okMount(t, run(['-t', 'fuse.strata', 'strata', d.m, '-o', `rw,dev,suid,noatime,lowerdir=${d.l2}:${d.l1},upperdir=${d.u},workdir=${d.w}`], { cmd: 'mount' }), d.m)
  t.equal(fs.readFileSync(`${d.m}/base`, 'utf8'), 'base')
  t.equal(run(['umount', d.m]).status, 0)
  const fstab = `${d.root}/fstab`
  fs.writeFileSync(fstab, `strata ${d.m} fuse.strata defaults,lowerdir=${d.l2}:${d.l1},upperdir=${d.u},workdir=${d.w} 0 0\n`)
  okMount(t, run(['-T', fstab, d.m], { cmd: 'mount' }), d.m)
  t.equal(fs.readFileSync(`${d.m}/top`, 'utf8'), 'top')
  t.match(fs.readFileSync('/proc/self/mountinfo', 'utf8'), /fuse\.strata strata rw,[^\n]*allow_other/, 'root mounts allow other users')
  t.equal(run([d.m], { cmd: 'umount' }).status, 0, 'umount(8) works too')
})

t.test('bad input: a clear error naming the thing, and no mount left', async (t) => {
  const d = dirs(t)
  const tmpfs = `${d.root}/tmpfs`
  fs.mkdirSync(tmpfs)
  spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', tmpfs])
  fs.mkdirSync(`${tmpfs}/w`)
  fs.writeFileSync(`${d.root}/file`, 'f')
  fs.mkdirSync(`${d.m}/inner`)
  const cases: Array<[string, string[], RegExp]> = [
    ['missing lowerdir', ['--lowerdir', `${d.root}/nope`], /lowerdir .*\/nope: no such directory/],
    ['lowerdir is a file', ['--lowerdir', `${d.root}/file`], /lowerdir .*\/file: not a directory/],
    ['missing upperdir', ['--lowerdir', d.l1, '--upperdir', `${d.root}/nope`, '--workdir', d.w], /upperdir .*\/nope: no such directory/],
    ['upper without work', ['--lowerdir', d.l1, '--upperdir', d.u], /upperdir and workdir go together/],
    ['lowerdir inside the mountpoint', ['--lowerdir', `${d.m}/inner`], /lowerdir .*\/m\/inner is inside the mountpoint/],
    ['upper and work on different filesystems', ['--lowerdir', d.l1, '--upperdir', d.u, '--workdir', `${tmpfs}/w`], /different filesystems/],
    ['unknown option', ['-o', `lowerdir=${d.l1},frobnicate`], /unknown mount option "frobnicate"/],
    ['no mountpoint', ['--lowerdir', d.l1], /mountpoint .*: no such directory/],
  ]
  for (const [what, args, msg] of cases) {
    const r = run(['mount', ...args, what === 'no mountpoint' ? `${d.root}/nomnt` : d.m])
    t.not(r.status, 0, `${what}: refused`)
    t.match(r.stderr, msg, `${what}: ${r.stderr.trim()}`)
    t.same(mountsUnder(d.m), [], `${what}: nothing mounted`)
  }
  spawnSync('umount', [tmpfs])
  okMount(t, run(['mount', '--lowerdir', d.l1, d.m]), d.m)
  const busy = run(['mount', '--lowerdir', d.l1, d.m])
  t.not(busy.status, 0)
  t.match(busy.stderr, /mountpoint .* is busy/, 'a busy mountpoint is refused')
  t.equal(mountsUnder(d.m).length, 1, 'and not stacked')
  const nofuse = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs none /dev && ${strata} mount --lowerdir ${d.l1} ${d.l2}`], { encoding: 'utf8', env })
  t.not(nofuse.status, 0)
  t.match(nofuse.stderr, /\/dev\/fuse is missing/, 'no /dev/fuse')
})

t.test('umount recovers a mount whose daemon died, and refuses a busy one', async (t) => {
  const d = dirs(t)
  okMount(t, run(['mount', '--lowerdir', d.l1, '--upperdir', d.u, '--workdir', d.w, d.m]), d.m)
  const user = spawn('sleep', ['60'], { cwd: d.m, stdio: 'ignore' })
  t.teardown(() => { user.kill('SIGKILL') })
  await new Promise((r) => setTimeout(r, 200))
  const busy = run(['umount', d.m])
  t.not(busy.status, 0)
  t.match(busy.stderr, /is busy/, 'a busy mount is not pulled away')
  user.kill('SIGKILL')
  await new Promise((r) => user.on('exit', r))
  const rec = JSON.parse(fs.readFileSync(`/run/strata/mounts/${encodeURIComponent(d.m)}.json`, 'utf8')) as { pid: number }
  process.kill(rec.pid, 'SIGKILL')
  await new Promise((r) => setTimeout(r, 300))
  t.throws(() => fs.statSync(`${d.m}/base`), { code: 'ENOTCONN' }, 'Transport endpoint is not connected')
  const r = run(['umount', d.m])
  t.equal(r.status, 0, r.stderr)
  t.equal(mountedType(d.m), undefined, 'the dead mount is gone')
  okMount(t, run(['mount', '--lowerdir', d.l1, '--upperdir', d.u, '--workdir', d.w, d.m]), d.m)
  t.equal(fs.readFileSync(`${d.m}/base`, 'utf8'), 'base', 'and the same dirs mount again')
})

t.test('foreground: -f serves until SIGTERM, then unmounts; --debug logs requests', async (t) => {
  const d = dirs(t)
  const daemon = spawn(strata, ['mount', '-f', '--debug', '--lowerdir', d.l1, d.m], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let log = ''
  daemon.stderr.setEncoding('utf8').on('data', (s: string) => { log += s })
  t.teardown(() => { daemon.kill('SIGKILL') })
  for (let i = 0; i < 100 && mountedType(d.m) === undefined; i++) await new Promise((r) => setTimeout(r, 50))
  t.equal(mountedType(d.m), 'fuse.strata')
  // Our process does not serve this mount, so touching it here is safe.
  t.equal(fs.readFileSync(`${d.m}/base`, 'utf8'), 'base')
  daemon.kill('SIGTERM')
  const code = await new Promise((r) => daemon.on('exit', (c) => r(c)))
  t.equal(code, 0, 'exits cleanly')
  t.equal(mountedType(d.m), undefined, 'and leaves no mount')
  t.match(log, /LOOKUP ino=1 name="base"/, '--debug logs each request')
})
