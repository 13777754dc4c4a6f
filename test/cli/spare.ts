// Spare mount daemons (src/cli/spare-main.ts, native/spare-key.h): a mount
// line boots one once its mount has settled or ended; the next line of the
// same caller is handed to it (no Node start on the caller's path) and
// behaves as a line bin/strata ran itself: mounted and served, its record
// written, its failures said on the caller's stderr; a line it does not take
// goes to the full CLI. Spares are off for the rest of the suite
// (test/fixtures/suite-env.mjs); here each test turns them on with a run dir
// of its own, which is part of a spare's name, and ends its spares by PID.
// Another identity neither gets a spare nor can catch a caller's request.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mountsUnder } from '../fixtures/mount-overlay.js'
import { endSpares, sparesOf, waitingSpares } from '../../src/fuse/spare-processes.js'

const repo = path.resolve(import.meta.dirname, '..', '..')
const strata = path.join(repo, 'bin', 'strata')
/** Debian's, which any uid may run (setup installs it). */
const python = '/usr/bin/python3'
const LOWER = 'the lower file of this test'
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface Dirs { root: string, l: string, u: string, w: string, m: string, run: string, env: NodeJS.ProcessEnv }

function dirs (t: Test, extraEnv: NodeJS.ProcessEnv = {}): Dirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-spare-'))
  const env = { ...process.env, STRATA_RUN_DIR: `${root}/run`, STRATA_SPARE: '1', ...extraEnv }
  const d = { root, l: `${root}/l`, u: `${root}/u`, w: `${root}/w`, m: `${root}/m`, run: `${root}/run`, env }
  for (const p of [d.l, d.u, d.w, d.m]) fs.mkdirSync(p)
  // Not the warm-up's 'lower' (spare-warm-up.ts): a node remembered from
  // that mount would show here.
  fs.writeFileSync(`${d.l}/f`, LOWER)
  for (let i = 0; i < 20; i++) fs.writeFileSync(`${d.l}/a${i}`, 'x'.repeat(i))
  t.teardown(async () => {
    for (const mp of mountsUnder(root).reverse()) {
      if (spawnSync(strata, ['umount', mp], { env: { ...d.env, STRATA_SPARE: '0' } }).status !== 0) spawnSync('umount', ['-l', mp])
    }
    // A spare may still be booting (a daemon starts it as it ends).
    await endSpares(d.run)
    spawnSync('rm', ['-rf', '--one-file-system', root])
  })
  return d
}

const run = (d: Dirs, args: string[], env: NodeJS.ProcessEnv = d.env): SpawnSyncReturns<string> =>
  spawnSync(strata, args, { encoding: 'utf8', env, timeout: 60000 })

const line = (d: Dirs, m = d.m): string[] => ['-o', `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w}`, m]

async function until (cond: () => boolean, ms = 15000): Promise<boolean> {
  for (let waited = 0; !cond() && waited < ms; waited += 50) await sleep(50)
  return cond()
}

const spares = (d: Dirs): number[] => waitingSpares(d.run)

/**
 * Connects to abstract socket argv[1] and prints the first line it gets
 * (Python's socket module, since Node's net cannot name an abstract socket).
 */
const peerClient = 'import socket,sys\ns=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect("\\0"+sys.argv[1])\n' +
  'print(s.recv(64).decode().strip())'

/** A caller of uid 65534 at spare `name`: what the spare said to it. */
const otherUidCall = (name: string): SpawnSyncReturns<string> =>
  spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', python, '-c', peerClient, name], { encoding: 'utf8', timeout: 10000 })

const recordPid = (d: Dirs, m: string): number =>
  (JSON.parse(fs.readFileSync(`${d.run}/mounts/${encodeURIComponent(m)}.json`, 'utf8')) as { pid: number }).pid

/** Not gone, nor a zombie its parent has yet to reap. */
const running = (pid: number): boolean => {
  try { return !/^\S+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return false }
}

const cmdline = (pid: number): string[] => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)

/** The abstract socket name a spare of this test's kind listens on. */
function spareName (env: NodeJS.ProcessEnv): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `const { native } = await import(${JSON.stringify(path.join(repo, 'dist/native/binding.js'))}); process.stdout.write(native.spareName(${JSON.stringify(path.join(repo, 'dist'))}))`],
  { encoding: 'utf8', env })
  return r.stdout
}

/** The PID file a waiting spare wrote (RUN/spares/NAME.pid), if `pid` has one. */
function pidFileOf (d: Dirs, pid: number): string | null {
  let names: string[]
  try { names = fs.readdirSync(`${d.run}/spares`) } catch { return null }
  for (const n of names) {
    try { if (Number(fs.readFileSync(`${d.run}/spares/${n}`, 'utf8')) === pid) return `${d.run}/spares/${n}` } catch { /* went */ }
  }
  return null
}

/** `pid` waits as a spare again, and says so in ps, after serving a line. */
const waitsAgain = (d: Dirs, pid: number): boolean =>
  spares(d).includes(pid) && /spare-main\.js$/.test(cmdline(pid).join(' '))

/** `pid` went back to waiting after `since` (ms): it served a mount meanwhile. */
function servedSince (d: Dirs, pid: number, since: number): boolean {
  const f = pidFileOf(d, pid)
  return f !== null && waitsAgain(d, pid) && fs.statSync(f).mtimeMs > since
}

/**
 * The fds `pid` holds, by what they are; a socket as just that (a spare
 * listens on a new one each time it waits).
 */
const fdsOf = (pid: number): string[] => fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
  try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/^socket:\[\d+\]$/, 'socket') } catch { return '' }
}).filter((l) => l !== '').sort()

/** A booted spare: a first line mounted and unmounted, then its successor waiting. */
async function bootSpare (t: Test, d: Dirs): Promise<number> {
  const first = `${d.root}/first`
  fs.mkdirSync(first)
  const r = run(d, line(d, first))
  t.equal(r.status, 0, `the first line mounts: ${r.stderr}`)
  t.equal(run(d, ['umount', first]).status, 0, 'and unmounts')
  t.ok(await until(() => spares(d).length === 1), 'a spare waits once that mount has ended')
  return spares(d)[0]
}

t.test('the next line is served by the spare: mounted, recorded, named in ps, and a new spare follows', async (t) => {
  const d = dirs(t)
  const spare = await bootSpare(t, d)
  t.match(cmdline(spare).join(' '), /spare-main\.js$/, 'a waiting spare says what it is in ps')
  const r = run(d, line(d))
  t.equal(r.status, 0, `mounted: ${r.stderr}`)
  t.equal(r.stderr, '', 'nothing said')
  t.equal(recordPid(d, d.m), spare, 'the mount record names the spare as its daemon')
  t.same(cmdline(spare).slice(1), [path.join(repo, 'dist/cli/mount-line-main.cjs'), ...line(d)], 'its command line is now the line it serves')
  t.equal(fs.statSync(`${d.m}/f`).size, LOWER.length, 'the lower file\'s size')
  t.equal(fs.readFileSync(`${d.m}/f`, 'utf8'), LOWER, 'and content')
  t.same(fs.readdirSync(d.m).sort(), fs.readdirSync(d.l).sort(), 'the root lists the lower\'s entries only')
  const sizes = Array.from({ length: 20 }, (_, i) => fs.lstatSync(`${d.m}/a${i}`))
  t.same(sizes.map((st) => [st.isFile(), st.size]), sizes.map((_, i) => [true, i]), 'each file as it is in the lower')
  const read = (f: string): string => { try { return fs.readFileSync(f, 'utf8') } catch (err) { return (err as Error).message } }
  t.same(sizes.map((_, i) => read(`${d.m}/a${i}`)), sizes.map((_, i) => 'x'.repeat(i)), 'and opens as itself: no node of the spare\'s warm-up mount answers')
  const w = spawnSync('sh', ['-c', `echo upper > ${d.m}/f && mkdir ${d.m}/dir`])
  t.equal(w.status, 0, 'writes through the mount')
  t.equal(fs.readFileSync(`${d.u}/f`, 'utf8'), 'upper\n', 'copied up into the upper')
  t.equal(fs.readFileSync(`${d.l}/f`, 'utf8'), LOWER, 'the lower is untouched')
  t.ok(await until(() => spares(d).length === 1 && spares(d)[0] !== spare), 'a new spare waits once the mount has settled')
  t.equal(run(d, ['umount', d.m]).status, 0, 'strata umount')
  t.ok(await until(() => !fs.existsSync(`/proc/${spare}`)), 'the daemon that was the spare exits')
  t.equal(fs.readdirSync(`${d.run}/mounts`).length, 0, 'its record is gone')
})

/** The environment `pid` was started with (not what it set since). */
const startEnv = (pid: number): Map<string, string> => new Map(fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
  .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))

t.test('a cold line\'s daemon starts without NODE_EXTRA_CA_CERTS; the spare it boots has it, and takes the next line', async (t) => {
  const ca = path.join(os.tmpdir(), `strata-spare-ca-${process.pid}.pem`)
  // Node refuses nothing at start-up for a bad file (it warns), so any real bundle does.
  fs.copyFileSync('/etc/ssl/certs/ca-certificates.crt', ca)
  t.teardown(() => { fs.rmSync(ca, { force: true }) })
  const d = dirs(t, { NODE_EXTRA_CA_CERTS: ca })
  const first = `${d.root}/first`
  fs.mkdirSync(first)
  const r = run(d, line(d, first))
  t.equal(r.status, 0, `the first line mounts: ${r.stderr}`)
  const daemon = startEnv(recordPid(d, first))
  t.equal(daemon.get('NODE_EXTRA_CA_CERTS'), '', 'its daemon started with the variable emptied')
  t.equal(daemon.get('STRATA_HELD_CA_CERTS'), ca, 'and the value held aside')
  t.equal(run(d, ['umount', first]).status, 0, 'unmounted')
  t.ok(await until(() => spares(d).length === 1), 'a spare waits once that mount has ended')
  const spare = spares(d)[0]
  const booted = startEnv(spare)
  t.equal(booted.get('NODE_EXTRA_CA_CERTS'), ca, 'the spare started with the caller\'s certificates')
  t.notOk(booted.has('STRATA_HELD_CA_CERTS'), 'and nothing held')
  t.equal(run(d, line(d)).status, 0, 'the next line mounts')
  t.equal(recordPid(d, d.m), spare, 'served by that spare: its name is the one the caller\'s launcher asks for')
})

t.test('a spare whose mount ended before it settled waits again, warm, with nothing of that mount kept', async (t) => {
  const d = dirs(t)
  const spare = await bootSpare(t, d)
  const fds = fdsOf(spare)
  t.equal(run(d, line(d)).status, 0, 'a line mounted by the spare')
  t.equal(recordPid(d, d.m), spare, 'served by it')
  t.equal(spawnSync('sh', ['-c', `mkdir ${d.m}/made && ls -l ${d.m} >/dev/null && echo new > ${d.m}/f`]).status, 0, 'used: a dir made, the root listed, a file copied up')
  // Its daemon lives on, so umount waits for its record to go, not for it to
  // exit: a umount still running after 5 s waited for the exit (10 s cap).
  const u = spawnSync(strata, ['umount', d.m], { encoding: 'utf8', env: d.env, timeout: 5000 })
  t.equal(u.status, 0, `unmounted at once, as podman does after a short container; strata umount returns though the daemon lives on: ${u.stderr}`)
  t.ok(await until(() => waitsAgain(d, spare)), 'the same process waits again, named a spare in ps')
  t.same(spares(d), [spare], 'and no other spare was booted')
  t.same(fdsOf(spare), fds, 'holding no fd of the mount it served: layers, upper, node dirs, the caller\'s stdio')
  t.same(fs.readdirSync(`${d.run}/mounts`), [], 'no record or log left')
  // A second line on other layers: nothing of the first mount may answer.
  const l2 = `${d.root}/l2`
  const u2 = `${d.root}/u2`
  const w2 = `${d.root}/w2`
  for (const p of [l2, u2, w2]) fs.mkdirSync(p)
  fs.writeFileSync(`${l2}/f`, 'second lower')
  fs.mkdirSync(`${l2}/only-here`)
  const again = run(d, ['-o', `lowerdir=${l2},upperdir=${u2},workdir=${w2}`, d.m])
  t.equal(again.status, 0, `the next line mounts: ${again.stderr}`)
  t.equal(recordPid(d, d.m), spare, 'served by the same process')
  t.equal(fs.readFileSync(`${d.m}/f`, 'utf8'), 'second lower', 'with its own layers\' content')
  t.same(fs.readdirSync(d.m).sort(), ['f', 'only-here'], 'and its own tree: nothing of the first mount\'s')
  t.equal(run(d, ['umount', d.m]).status, 0, 'unmounted')
  t.ok(await until(() => waitsAgain(d, spare)), 'and it waits once more')
})

t.test('a line handed to a spare fails as it would without one, and mounts nothing', async (t) => {
  const d = dirs(t)
  const spare = await bootSpare(t, d)
  const fds = fdsOf(spare)
  const r = run(d, ['-o', `lowerdir=${d.root}/nope,upperdir=${d.u},workdir=${d.w}`, d.m])
  t.equal(r.status, 1, 'exit 1')
  t.equal(r.stderr, `strata: ENOENT: lowerdir ${d.root}/nope: no such directory\n`, 'the fault named on the caller\'s stderr')
  t.same(mountsUnder(d.root), [], 'nothing mounted')
  t.ok(await until(() => waitsAgain(d, spare)), 'the spare it was handed to waits again')
  t.same(fdsOf(spare), fds, 'holding no fd of that line (the caller\'s stdio, a layer it opened)')
  const off = run(d, ['-o', `lowerdir=${d.root}/nope,upperdir=${d.u},workdir=${d.w}`, d.m], { ...d.env, STRATA_SPARE: '0' })
  t.equal(off.stderr, r.stderr, 'the same message as without spares')
  const bad = run(d, ['-o', `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w},bogus`, d.m])
  t.equal(bad.status, 1, 'an unknown option: exit 1')
  t.equal(bad.stderr, 'strata: EINVAL: unknown mount option "bogus"\n', 'named')
})

t.test('a line the daemon does not take goes on to the full CLI', async (t) => {
  const d = dirs(t)
  await bootSpare(t, d)
  const r = run(d, ['-o', `lowerdir=${d.l}`])
  const off = run(d, ['-o', `lowerdir=${d.l}`], { ...d.env, STRATA_SPARE: '0' })
  t.not(r.status, 0, 'a line without a mount point fails')
  t.equal(r.status, off.status, 'with the exit code it has without spares')
  t.equal(r.stderr, off.stderr, 'and the same message')
  t.ok(r.stderr.length > 0, 'which says something')
  t.same(mountsUnder(d.root), [], 'nothing mounted')
})

t.test('STRATA_SPARE=0 boots no spare', async (t) => {
  const d = dirs(t, { STRATA_SPARE: '0' })
  t.equal(run(d, line(d)).status, 0, 'mounted')
  t.equal(run(d, ['umount', d.m]).status, 0, 'unmounted')
  await sleep(1500)
  t.same(spares(d), [], 'no spare waits')
  t.same(sparesOf(d.run), [], 'none booting either')
})

t.test('a spare leaves after STRATA_SPARE_IDLE seconds without a line', async (t) => {
  const d = dirs(t, { STRATA_SPARE_IDLE: '1' })
  const spare = await bootSpare(t, d)
  t.ok(await until(() => !fs.existsSync(`/proc/${spare}`), 8000), 'it exits')
  t.same(spares(d), [], 'and takes its PID file with it')
})

t.test('callers turned away do not put off a spare\'s idle exit', async (t) => {
  const d = dirs(t, { STRATA_SPARE_IDLE: '2' })
  const spare = await bootSpare(t, d)
  const name = spareName(d.env)
  // A caller of another uid, refused, every 250 ms: each one woke the
  // spare's wait, which then waited its whole timeout again.
  let refused = 0
  const gone = (): boolean => !fs.existsSync(`/proc/${spare}`)
  for (let waited = 0; !gone() && waited < 8000; waited += 250) {
    if (otherUidCall(name).stdout.trim() === 'refused') refused++
    await sleep(250)
  }
  t.ok(refused >= 3, `callers were turned away meanwhile (${refused})`)
  t.ok(gone(), 'the spare left at its idle time all the same')
})

t.test('another identity neither gets the spare nor catches a line', async (t) => {
  const d = dirs(t)
  const spare = await bootSpare(t, d)
  const name = spareName(d.env)
  t.match(name, /^strata-spare-[0-9a-f]{32}$/, 'the name a caller of this kind looks for')
  // A client of another uid connecting to the spare is turned away.
  const other = otherUidCall(name)
  t.equal(other.stdout.trim(), 'refused', `a uid-65534 caller is refused (${other.stderr.trim()})`)
  t.same(spares(d), [spare], 'the spare still waits')
  // Without the spare, a listener of another uid on the same name must get
  // nothing from a caller: the line is run without it, and still mounts.
  process.kill(spare, 'SIGKILL')
  await until(() => !fs.existsSync(`/proc/${spare}`))
  fs.rmSync(`${d.run}/spares`, { recursive: true, force: true })
  const squat = 'import socket,sys\ns=socket.socket(socket.AF_UNIX); s.bind("\\0"+sys.argv[1]); s.listen(4); print("up", flush=True)\n' +
    'c,_=s.accept(); c.settimeout(5); n=0\nwhile True:\n  b=c.recv(65536)\n  if not b: break\n  n+=len(b)\nprint("got %d" % n, flush=True)'
  const squatter = spawn('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', python, '-c', squat, name], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { squatter.kill('SIGKILL') })
  let said = ''
  squatter.stdout.on('data', (b: Buffer) => { said += b.toString() })
  t.ok(await until(() => said.includes('up'), 10000), 'a uid-65534 listener holds the name')
  const r = run(d, line(d))
  t.equal(r.status, 0, `the line still mounts, without a spare: ${r.stderr}`)
  t.not(recordPid(d, d.m), spare, 'served by a daemon of its own')
  t.ok(await until(() => said.includes('got'), 10000), 'the caller hung up on the listener')
  t.match(said, /got 0\n/, 'the listener received nothing')
})

t.test('a request without stdio is refused, and the spare keeps waiting', async (t) => {
  const d = dirs(t)
  const spare = await bootSpare(t, d)
  const name = spareName(d.env)
  const py = 'import socket,sys\ns=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect("\\0"+sys.argv[1]); s.sendall(bytes([255,255,255,127]))\n' +
    'print(s.recv(64).decode(), end="")'
  const reply = spawnSync(python, ['-c', py, name], { encoding: 'utf8', timeout: 10000 }).stdout
  t.equal(reply, 'refused\n', 'a request without stdio fds is refused')
  t.same(spares(d), [spare], 'the spare still waits')
  t.equal(run(d, line(d)).status, 0, 'and then serves a real line')
  t.equal(recordPid(d, d.m), spare, 'as its daemon')
})

t.test('the CLI hands its own mounts to the spare: strata mount NAME, strata run', async (t) => {
  const d = dirs(t)
  const env = { ...d.env, STRATA_ROOT: `${d.root}/store` }
  const rootfs = `${d.root}/rootfs`
  fs.mkdirSync(`${rootfs}/bin`, { recursive: true })
  fs.copyFileSync('/bin/busybox', `${rootfs}/bin/busybox`)
  fs.chmodSync(`${rootfs}/bin/busybox`, 0o755)
  for (const x of ['sh', 'cat', 'true']) fs.symlinkSync('busybox', `${rootfs}/bin/${x}`)
  fs.writeFileSync(`${rootfs}/hello`, 'from the image\n')
  t.equal(run(d, ['image', 'import', rootfs, 'sp:1'], env).status, 0, 'an image')
  t.equal(run(d, ['container', 'create', '--name', 'web', 'sp:1'], env).status, 0, 'a container')
  t.teardown(() => { run(d, ['container', 'rm', '-f', 'web'], { ...env, STRATA_SPARE: '0' }) })
  // The environment is part of a spare's name: boot one with the CLI's.
  const first = `${d.root}/first`
  fs.mkdirSync(first)
  t.equal(run(d, line(d, first), env).status, 0, 'a first mount line')
  t.equal(run(d, ['umount', first], env).status, 0, 'unmounted')
  t.ok(await until(() => spares(d).length === 1), 'a spare waits')
  const spare = spares(d)[0]
  const r = run(d, ['mount', 'web', d.m], env)
  t.equal(r.status, 0, `strata mount web: ${r.stderr}`)
  t.equal(recordPid(d, d.m), spare, 'served by the spare')
  t.same(cmdline(spare).slice(1), [path.join(repo, 'dist/cli/daemon-main.cjs'), d.m], 'named as the CLI\'s daemon would be')
  t.equal(fs.readFileSync(`${d.m}/hello`, 'utf8'), 'from the image\n', 'the container\'s tree')
  t.equal(run(d, ['umount', d.m], env).status, 0, 'strata umount')
  // The same spare back (its mount ended within a second), or a new one.
  t.ok(await until(() => spares(d).length === 1 && (spares(d)[0] !== spare || waitsAgain(d, spare))), 'a spare waits for the next mount')
  const next = spares(d)[0]
  const since = Date.now()
  const ran = run(d, ['run', '--rm', 'sp:1', 'cat', '/hello'], env)
  t.equal(ran.status, 0, `strata run: ${ran.stderr}`)
  t.equal(ran.stdout, 'from the image\n', 'the container ran on its mount')
  t.ok(await until(() => !running(next) || servedSince(d, next, since)), 'the spare served the run\'s mount: it ended with it or went back to waiting')
})

t.test('strata umount is served by the spare, which goes on waiting', async (t) => {
  const d = dirs(t)
  const spare = await bootSpare(t, d)
  // A mount the spare did not serve (the spare would become its daemon).
  t.equal(run(d, line(d), { ...d.env, STRATA_SPARE: '0' }).status, 0, 'a mount of its own daemon')
  const daemon = recordPid(d, d.m)
  const r = spawnSync(strata, ['umount', 'm'], { encoding: 'utf8', env: d.env, cwd: d.root, timeout: 60000 })
  t.equal(r.status, 0, `strata umount m, relative to the caller's cwd: ${r.stderr}`)
  t.same(mountsUnder(d.root), [], 'unmounted')
  t.notOk(running(daemon), 'its daemon has exited by the time umount returns')
  t.notOk(fs.existsSync(`${d.run}/mounts/${encodeURIComponent(d.m)}.json`), 'its record is gone')
  t.same(spares(d), [spare], 'the same spare still waits')
  const again = run(d, ['umount', d.m])
  const cold = run(d, ['umount', d.m], { ...d.env, STRATA_SPARE: '0' })
  t.equal(again.status, 1, 'a mount point not mounted: exit 1')
  t.equal(again.stderr, `strata: EINVAL: ${d.m} is not mounted\n`, 'said on the caller\'s stderr')
  t.same([again.status, again.stderr], [cold.status, cold.stderr], 'as without spares')
  const help = run(d, ['umount', '--bogus', d.m])
  t.same([help.status, help.stderr], [run(d, ['umount', '--bogus', d.m], { ...d.env, STRATA_SPARE: '0' }).status, run(d, ['umount', '--bogus', d.m], { ...d.env, STRATA_SPARE: '0' }).stderr], 'a line it does not take goes to the full CLI')
  t.same(spares(d), [spare], 'and the spare still waits')
})
