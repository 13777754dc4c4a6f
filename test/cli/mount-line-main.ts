// The mount lines bin/strata hands to the daemon itself (fuse-overlayfs's
// `-o … MNT`, `mount --lowerdir … MNT`), which reports ready at the mount
// syscall and builds the union afterwards: a bad line still fails before
// anything is mounted, with the CLI's message; a daemon that fails after it
// said ready takes its mount away; requests made the moment the command
// returns are answered, not failed; the lines it does not take (-f, a store
// name) still work through the full CLI.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mountsUnder, mountedType } from '../fixtures/mount-overlay.js'

const repo = path.resolve(import.meta.dirname, '..', '..')
const strata = path.join(repo, 'bin', 'strata')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface Dirs { root: string, l: string, u: string, w: string, m: string, run: string, env: NodeJS.ProcessEnv }

function dirs (t: Test): Dirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-line-'))
  const d = { root, l: `${root}/l`, u: `${root}/u`, w: `${root}/w`, m: `${root}/m`, run: `${root}/run`, env: { ...process.env, STRATA_RUN_DIR: `${root}/run`, STRATA_ROOT: `${root}/store` } }
  for (const p of [d.l, d.u, d.w, d.m]) fs.mkdirSync(p)
  fs.writeFileSync(`${d.l}/f`, 'lower')
  t.teardown(async () => {
    for (const mp of mountsUnder(root).reverse()) {
      if (spawnSync(strata, ['umount', mp], { env: d.env }).status !== 0) spawnSync('umount', ['-l', mp])
    }
    // A daemon still serving a test mount would be one of ours: end it by PID.
    for (const pid of daemonsOf(root)) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
    spawnSync('rm', ['-rf', '--one-file-system', root])
  })
  return d
}

/** PIDs of processes whose command line names a path under `dir` (our daemons do: the mountpoint). */
function daemonsOf (dir: string): number[] {
  const pids: number[] = []
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')
      if (argv.some((a) => a.includes('strata') && a.endsWith('.js')) && argv.some((a) => a.startsWith(dir))) pids.push(Number(p))
    } catch { /* exited */ }
  }
  return pids
}

const records = (d: Dirs): string[] => {
  try { return fs.readdirSync(`${d.run}/mounts`).filter((n) => n.endsWith('.json')) } catch { return [] }
}

const run = (d: Dirs, args: string[]): SpawnSyncReturns<string> =>
  spawnSync(strata, args, { encoding: 'utf8', env: d.env, timeout: 60000 })

const layers = (d: Dirs): string => `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w}`

async function until (cond: () => boolean, ms = 10000): Promise<boolean> {
  for (let waited = 0; !cond() && waited < ms; waited += 50) await sleep(50)
  return cond()
}

t.test('a bad line fails before anything is mounted, with one line naming the fault', async (t) => {
  const d = dirs(t)
  const ro = `${d.root}/ro-work`
  fs.mkdirSync(ro)
  // Found only when the upper is opened, which is still before the mount.
  const bad = `${d.root}/bad-work`
  fs.mkdirSync(bad)
  fs.writeFileSync(`${bad}/work`, 'a file')
  // volatile's marker cannot be made: the kernel fails its mount syscall for that.
  const noMarker = `${d.root}/no-marker`
  fs.mkdirSync(`${noMarker}/work`, { recursive: true })
  fs.writeFileSync(`${noMarker}/work/incompat`, 'not a directory')
  // A read-only work dir: readable, so it passes the option checks, and the
  // daemon's own check must catch it before the mount, not after "ok".
  spawnSync('mount', ['--bind', ro, ro])
  t.teardown(() => { spawnSync('umount', ['-l', ro]) })
  t.equal(spawnSync('mount', ['-o', 'remount,ro,bind', ro]).status, 0, 'a read-only bind mount for the work dir')
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown option', ['-o', `${layers(d)},bogus`, d.m], /^strata: EINVAL: unknown mount option "bogus"\n$/],
    ['a missing lower', ['-o', `lowerdir=${d.root}/nope`, d.m], /^strata: ENOENT: lowerdir \S+\/nope: no such directory\n$/],
    ['a missing mountpoint', ['-o', layers(d), `${d.root}/nomnt`], /^strata: ENOENT: mountpoint \S+\/nomnt: no such directory\n$/],
    ['a work dir whose work/ is a file', ['-o', `lowerdir=${d.l},upperdir=${d.u},workdir=${bad}`, d.m], /^strata: ENOTDIR: upperdir \S+, workdir \S+\/bad-work: Not a directory, openat 'work'\n$/],
    ['volatile, and the marker cannot be made', ['-o', `lowerdir=${d.l},upperdir=${d.u},workdir=${noMarker},volatile`, d.m], /^strata: ENOTDIR: .*incompat.*\n$/],
    ['a read-only work dir', ['-o', `lowerdir=${d.l},upperdir=${d.u},workdir=${ro}`, d.m], /^strata: EROFS: workdir \S+\/ro-work: on a read-only filesystem\n$/],
    ['mount: an unknown option', ['mount', '--lowerdir', d.l, '-o', 'bogus', d.m], /^strata: EINVAL: unknown mount option "bogus"\n$/],
    ['mount: a missing lower', ['mount', '--lowerdir', `${d.root}/nope`, d.m], /^strata: ENOENT: lowerdir \S+\/nope: no such directory\n$/],
  ]
  for (const [what, args, message] of cases) {
    const r = run(d, args)
    t.equal(r.status, 1, `${what}: exit status 1`)
    t.match(r.stderr, message, `${what}: the CLI's message`)
    t.equal(r.stdout, '', `${what}: nothing on stdout`)
    t.same(mountsUnder(d.root).filter((m) => m !== ro), [], `${what}: nothing mounted`)
    t.same(records(d), [], `${what}: no mount record`)
    t.same(daemonsOf(d.root), [], `${what}: no daemon left`)
  }
  t.same(fs.readdirSync(ro), [], 'nothing was written to the read-only work dir')
})

t.test('a daemon that fails after reporting ready unmounts itself and says why in its log', async (t) => {
  const d = dirs(t)
  // Everything input can get wrong is checked before the mount; a fault
  // injected into building the union is what is left after the "ok".
  const r = run({ ...d, env: { ...d.env, STRATA_TEST_FAIL_AT: 'build-union:1' } }, ['-o', layers(d), d.m])
  t.equal(r.status, 0, `the command reported the mount (${r.stderr.trim()})`)
  const rec = `${d.run}/mounts/${encodeURIComponent(d.m)}.json`
  let pid = 0
  try { pid = (JSON.parse(fs.readFileSync(rec, 'utf8')) as { pid: number }).pid } catch { /* already gone: the daemon was quick */ }
  t.ok(await until(() => mountedType(d.m) === undefined), 'the mount goes away by itself')
  const running = (): boolean => {
    try { return pid > 0 && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return false }
  }
  t.ok(await until(() => !running() && daemonsOf(d.root).length === 0), 'and so does the daemon')
  const log = `${d.run}/mounts/${encodeURIComponent(d.m)}.log`
  t.match(fs.readFileSync(log, 'utf8'), /strata: cannot serve \S+\/m: .*failed at build-union.*; unmounting it/, 'the log says why')
  t.notOk(fs.existsSync(rec), 'no record left')
  t.equal(spawnSync('stat', [d.m]).status, 0, 'the mountpoint is a plain directory again, not a dead mount')
})

t.test('requests made as soon as the command returns are answered', async (t) => {
  const d = dirs(t)
  const lines: Array<[string, string]> = [
    ['fuse-overlayfs', `${strata} -o ${layers(d)} ${d.m}`],
    ['mount --lowerdir', `${strata} mount --lowerdir ${d.l} --upperdir ${d.u} --workdir ${d.w} ${d.m}`],
  ]
  for (const [what, line] of lines) {
    for (let i = 0; i < 4; i++) {
      // One shell: no gap between the command's return and the first requests.
      const r = spawnSync('sh', ['-c', `${line} && cat ${d.m}/f && stat -c %F ${d.m} && ls ${d.m} && echo x > ${d.m}/new${i} && cat ${d.m}/new${i}`], { encoding: 'utf8', env: d.env, timeout: 60000 })
      t.equal(r.stdout, 'lowerdirectory\nf\nx\n', `${what} #${i}: read, stat, list and write at once (${r.stderr.trim()})`)
      t.equal(r.status, 0, `${what} #${i}: all answered`)
      if (i === 0) {
        const rec = JSON.parse(fs.readFileSync(`${d.run}/mounts/${encodeURIComponent(d.m)}.json`, 'utf8')) as { pid: number }
        t.equal(fs.readlinkSync(`/proc/${rec.pid}/cwd`), '/', `${what}: the daemon (its record's PID) does not pin the caller's cwd`)
      }
      t.equal(run(d, ['umount', d.m]).status, 0, `${what} #${i}: unmounted`)
      fs.rmSync(`${d.u}/new${i}`)
    }
  }
  t.equal(mountedType(d.m), undefined, 'nothing left mounted')
})

t.test('the lines the daemon does not take still work: -f in the foreground, umount -l, --version', async (t) => {
  const d = dirs(t)
  const fg = spawn(strata, ['-f', '-o', layers(d), d.m], { env: d.env, stdio: 'ignore' })
  const exited = new Promise<number | null>((resolve) => fg.on('exit', resolve))
  t.teardown(() => { if (fg.exitCode === null) fg.kill('SIGKILL') })
  t.ok(await until(() => mountedType(d.m) === 'fuse.strata'), '-f mounts')
  t.equal(fs.readFileSync(`${d.m}/f`, 'utf8'), 'lower', 'and serves')
  t.equal(fg.exitCode, null, 'from the foreground process')
  t.equal(run(d, ['umount', '-l', d.m]).status, 0, 'umount -l')
  t.equal(await exited, 0, 'the foreground process ends with the mount')
  const v = run(d, ['--version'])
  t.match(v.stdout, /^\d+\.\d+\.\d+\S*\n$/, '--version prints the version')
  t.equal(run(d, ['-V']).stdout, v.stdout, '-V too (fuse-overlayfs)')
  const u = run(d, ['umount', d.m])
  t.equal(u.status, 1, 'umount of what is not mounted fails')
  t.match(u.stderr, /^strata: EINVAL: \S+ is not mounted\n$/, 'saying so in one line')
  const usage = run(d, ['umount'])
  t.not(usage.status, 0, 'umount without a mountpoint is a usage error')
  t.match(usage.stderr, /"strata umount" requires at least 1 argument/, 'from the full CLI')
})
