// Rootless podman (a user the test creates, with subordinate ids) using this
// worktree's bin/strata as mount_program: containers/storage then runs
// strata inside podman's user namespace, where trusted.* xattrs are refused
// and the overlay uses the user.overlay.* forms. Import, run, a write that
// copies up, a whiteout and an opaque directory that survive a commit, and
// a container mounted by a spare daemon (booted in podman's namespaces).
// Teardown removes the user's containers and store with podman's own
// commands, ends the user's remaining processes (all started by this test)
// by PID, and removes the user and its subordinate id ranges.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mountsUnder } from '../fixtures/mount-overlay.js'
import { waitingSpares } from '../../src/fuse/spare-processes.js'

const repo = path.resolve(import.meta.dirname, '..', '..')
const strata = path.join(repo, 'bin', 'strata')
const RUN = ['--network', 'none', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096']

const name = `strpm${process.pid % 100000}`
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-podman-rl-'))
fs.chmodSync(dir, 0o755)

const userPids = (uid: number): number[] =>
  spawnSync('ps', ['-u', String(uid), '-o', 'pid='], { encoding: 'utf8' }).stdout.split('\n').map(Number).filter((p) => p > 0)

const removeSubIds = (): void => {
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    const text = fs.readFileSync(f, 'utf8')
    fs.writeFileSync(f, text.split('\n').filter((l) => !l.startsWith(`${name}:`)).join('\n'))
  }
}

if (spawnSync('podman', ['--version']).status !== 0 || spawnSync('newuidmap', ['--help']).error) {
  t.plan(0, 'podman or newuidmap (uidmap) is not installed')
} else if ((fs.statSync('/dev/fuse').mode & 0o006) !== 0o006) {
  t.plan(0, '/dev/fuse is not open to users (scripts/setup makes it 0666, as Debian udev does)')
} else {
  const home = `${dir}/home`
  const add = spawnSync('useradd', ['-M', '-d', home, '-s', '/bin/sh', name], { encoding: 'utf8' })
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout)
  // A range far from the usual 100000+ ones, so it overlaps no one's.
  const sub = 3000000 + (process.pid % 1000) * 65536
  for (const f of ['/etc/subuid', '/etc/subgid']) fs.appendFileSync(f, `${name}:${sub}:65536\n`)
  const xdg = `${dir}/xdg`
  for (const d of [home, `${home}/.config/containers`, xdg]) fs.mkdirSync(d, { recursive: true, mode: 0o700 })
  fs.writeFileSync(`${home}/.config/containers/storage.conf`, `[storage]\ndriver = "overlay"\n[storage.options.overlay]\nmount_program = "${strata}"\n`)
  fs.writeFileSync(`${home}/.config/containers/containers.conf`,
    '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n[containers]\nnetns = "none"\n')
  fs.mkdirSync(`${dir}/rootfs/bin`, { recursive: true })
  fs.copyFileSync('/bin/busybox', `${dir}/rootfs/bin/busybox`)
  fs.chmodSync(`${dir}/rootfs/bin/busybox`, 0o755)
  for (const x of ['sh', 'cat', 'ls', 'mkdir', 'rm', 'grep', 'id', 'stat']) fs.symlinkSync('busybox', `${dir}/rootfs/bin/${x}`)
  fs.mkdirSync(`${dir}/rootfs/data/old`, { recursive: true })
  fs.writeFileSync(`${dir}/rootfs/data/old/file`, 'old\n')
  fs.writeFileSync(`${dir}/rootfs/data/keep`, 'image\n')
  spawnSync('tar', ['-C', `${dir}/rootfs`, '-cf', `${dir}/rootfs.tar`, '.'])
  spawnSync('chown', ['-R', `${uid}:${uid}`, home, xdg, `${dir}/rootfs.tar`])

  // env -i: tap's NODE_OPTIONS hooks must not follow into the user's processes.
  const as = (...args: string[]): SpawnSyncReturns<string> =>
    spawnSync('env', ['-i', `PATH=${process.env.PATH}`, `HOME=${home}`, `XDG_RUNTIME_DIR=${xdg}`, 'setpriv', '--reuid', String(uid),
      '--regid', String(uid), '--init-groups', '--', ...args], { encoding: 'utf8', timeout: 300000, cwd: home })
  const podman = (...args: string[]): SpawnSyncReturns<string> => as('podman', ...args)
  const ok = (t: Test, r: SpawnSyncReturns<string>, what: string): string => {
    t.equal(r.status, 0, `${what}${r.status === 0 ? '' : ': ' + (r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' / ')}`)
    return r.stdout
  }

  t.teardown(() => {
    podman('rm', '-a', '-f')
    podman('system', 'reset', '-f')
    for (const mp of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', mp])
    for (const pid of userPids(uid)) { try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ } }
    spawnSync('userdel', [name])
    removeSubIds()
    spawnSync('rm', ['-rf', '--one-file-system', dir])
  })

  t.test('rootless podman with strata as mount_program', async (t) => {
    t.equal(add.status, 0, `useradd ${name} ${add.stderr}`)
    ok(t, podman('import', `${dir}/rootfs.tar`, 'localhost/rl:1'), 'podman import')
    const out = ok(t, podman('run', '--rm', ...RUN, 'localhost/rl:1', 'sh', '-c',
      'grep " / " /proc/mounts; cat /data/keep; echo more >> /data/keep; cat /data/keep; mkdir /made && echo m > /made/f && cat /made/f'), 'podman run')
    t.match(out, /^strata \/ fuse\.strata /m, 'the container root is a strata mount')
    t.match(out, /image\nimage\nmore\nm\n/, 'read, copy-up on append, mkdir and create')
    // Spares are on here (env -i): the run's daemon boots one, in podman's
    // namespaces, as its mount ends; the next container's mount is its.
    const spare = async (): Promise<number | undefined> => {
      for (let waited = 0; !waitingSpares(`${xdg}/strata`).length && waited < 15000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50))
      return waitingSpares(`${xdg}/strata`)[0]
    }
    t.ok(await spare(), 'a spare waits in the user\'s run dir ($XDG_RUNTIME_DIR/strata)')
    ok(t, podman('run', '--name', 'rl-c', ...RUN, 'localhost/rl:1', 'sh', '-c',
      'rm /data/keep && rm -r /data/old && mkdir /data/old && echo new > /data/old/other'), 'a run that removes and replaces')
    ok(t, podman('commit', 'rl-c', 'localhost/rl:2'), 'podman commit')
    const waiting = await spare()
    ok(t, podman('run', '-d', '--name', 'rl-bg', ...RUN, 'localhost/rl:1', 'busybox', 'sleep', '60'), 'a container in the background')
    const argv = waiting ? fs.readFileSync(`/proc/${waiting}/cmdline`, 'utf8').split('\0') : []
    t.ok(argv.some((a) => a.endsWith('/mount-line-main.cjs')) && argv.includes('-o'), 'the spare became the daemon of a container\'s mount')
    ok(t, podman('rm', '-f', 'rl-bg'), 'podman rm -f')
    const after = ok(t, podman('run', '--rm', ...RUN, 'localhost/rl:2', 'sh', '-c', 'ls /data; ls /data/old'), 'run the commit')
    t.equal(after, 'old\nother\n', 'the whiteout hides keep, and the new old/ is opaque')
    ok(t, podman('rm', 'rl-c'), 'podman rm')
    // podman's mounts live in its own namespace: look there.
    const mounts = ok(t, podman('unshare', 'cat', '/proc/self/mountinfo'), 'podman unshare')
    const ours = mounts.split('\n').filter((l) => l.includes(' - fuse.strata ') && l.split(' ')[4]?.startsWith(dir))
    t.same(ours, [], 'no strata mount of this test left in podman\'s namespace')
    t.notOk(fs.existsSync(`/run/strata/mounts/${encodeURIComponent(home)}`), 'nothing under /run/strata')
  })
}
