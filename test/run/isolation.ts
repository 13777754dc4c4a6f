// strata run isolates as docker's defaults do: each breakout attempt below,
// made as the container's root, must fail; capability sets, seccomp and
// no_new_privs are what the flags say; masked and read-only paths, /sys,
// the network namespace, volumes, tmpfs, --read-only and cgroup limits.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import { spawn } from 'node:child_process'
import { containerFixture, mountsUnder } from '../fixtures/container-image.js'
import { capMask, DEFAULT_CAPS } from '../../src/run/capabilities.js'

const status = (out: string, key: string): string => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(out)?.[1] ?? `no ${key}`

t.test('breakout attempts as the container\'s root fail', async (t) => {
  const { dir, run } = containerFixture(t)
  fs.writeFileSync(`${dir}/host-marker`, 'host')
  const sh = (cmd: string) => run('run', '--rm', 'bb:1', 'sh', '-c', cmd)

  let r = run('run', '--rm', 'bb:1', '/bin/escape', `${dir}/host-marker`)
  t.equal(r.stdout, 'contained\n', `the double-chroot walk does not reach the host (${r.stderr})`)
  r = sh('mount -t tmpfs x /mnt && echo MOUNTED; mount --bind / /tmp && echo BOUND; echo done')
  t.equal(r.stdout, 'done\n', 'mount fails')
  r = sh('unshare -U -r id && echo NEWUSERNS; unshare -m true && echo NEWMNTNS; echo done')
  t.equal(r.stdout, 'done\n', 'no new user or mount namespace')
  t.match(r.stderr, /Operation not permitted/)
  r = run('run', '--rm', 'bb:1', '/bin/modload')
  t.equal(r.stdout, 'finit_module=-1 errno=1 init_module=-1 errno=1\n', 'loading a module: EPERM')
  r = sh('echo b > /proc/sysrq-trigger && echo SYSRQ; echo c > /proc/sys/kernel/core_pattern && echo CORE; echo done')
  t.equal(r.stdout, 'done\n', 'no write to /proc/sysrq-trigger nor /proc/sys')
  r = sh('cat /proc/kcore | wc -c; cat /proc/keys /proc/timer_list | wc -c; (ls -A /proc/acpi; ls -A /sys/firmware) | wc -l')
  t.same(r.stdout.trim().split(/\s+/), ['0', '0', '0'], 'masked paths read empty (kcore is absent on some kernels: empty too)')
  r = sh('echo 1 > /sys/kernel/uevent_helper && echo SYSWRITE; touch /sys/x && echo SYSCREATE; echo done')
  t.equal(r.stdout, 'done\n', 'no write under /sys')
  t.match(r.stderr, /Read-only file system/)
  const host = spawn('sleep', ['60'], { stdio: 'ignore' })
  t.teardown(() => { host.kill('SIGKILL') })
  r = sh(`kill -9 ${host.pid} && echo KILLED; kill -9 1; echo done`)
  t.equal(r.stdout, 'done\n', 'a host process cannot be signalled')
  t.equal(host.exitCode, null, 'the host process still runs')
  t.equal(host.signalCode, null)
  const before = os.hostname()
  r = sh('hostname owned && echo RENAMED; echo done')
  t.equal(r.stdout, 'done\n', 'sethostname fails')
  t.equal(os.hostname(), before, 'the host keeps its name')
  r = sh('mknod /tmp/kmsg c 1 11 && echo made; echo x > /tmp/kmsg && echo WROTE; echo x > /kmsg && echo WROTE2; head -c1 /kmsg >/dev/null && echo READ; echo done')
  t.equal(r.stdout, 'made\ndone\n', 'device nodes other than docker\'s defaults cannot be opened (device cgroup)')
  r = sh('echo hi > /dev/null && head -c 4 /dev/zero | wc -c')
  t.equal(r.stdout, '4\n', 'the default nodes work')
  t.same(mountsUnder(dir), [], 'nothing left mounted')
})

t.test('capabilities, seccomp and no_new_privs', async (t) => {
  const { dir, run } = containerFixture(t)
  const caps = (...flags: string[]) => run('run', '--rm', ...flags, 'bb:1', 'cat', '/proc/self/status').stdout
  let s = caps()
  t.equal(status(s, 'CapEff'), capMask(DEFAULT_CAPS), 'docker\'s default set, effective')
  t.equal(status(s, 'CapPrm'), capMask(DEFAULT_CAPS), 'permitted')
  t.equal(status(s, 'CapBnd'), capMask(DEFAULT_CAPS), 'bounding')
  t.equal(status(s, 'CapInh'), '0000000000000000', 'inheritable empty (docker since CVE-2022-24769)')
  t.equal(status(s, 'Seccomp'), '2', 'a seccomp filter')
  t.equal(status(s, 'NoNewPrivs'), '0')
  const hostBnd = status(fs.readFileSync('/proc/self/status', 'utf8'), 'CapBnd')
  s = caps('--privileged')
  t.equal(status(s, 'CapEff'), hostBnd, '--privileged: every capability')
  t.equal(status(s, 'Seccomp'), '0', '--privileged: no seccomp')
  s = caps('--cap-add', 'NET_ADMIN', '--cap-add', 'cap_sys_ptrace', '--cap-drop', 'MKNOD')
  t.equal(status(s, 'CapEff'), capMask([...DEFAULT_CAPS.filter((c) => c !== 'MKNOD'), 'NET_ADMIN', 'SYS_PTRACE']), '--cap-add/--cap-drop')
  t.equal(status(caps('--cap-drop', 'ALL'), 'CapEff'), '0000000000000000', '--cap-drop ALL')
  s = run('run', '--rm', '-u', 'nobody', 'bb:1', 'cat', '/proc/self/status').stdout
  t.equal(status(s, 'CapEff'), '0000000000000000', 'a non-root user has no effective capabilities')
  t.equal(status(s, 'CapBnd'), capMask(DEFAULT_CAPS))
  t.equal(status(caps('--security-opt', 'seccomp=unconfined'), 'Seccomp'), '0', 'seccomp=unconfined')
  t.equal(status(caps('--security-opt', 'no-new-privileges'), 'NoNewPrivs'), '1', 'no-new-privileges')
  let r = run('run', '--rm', '--cap-add', 'SYS_ADMIN', 'bb:1', 'sh', '-c', 'mount -t tmpfs x /tmp && echo mounted')
  t.equal(r.stdout, 'mounted\n', 'with CAP_SYS_ADMIN the profile lets mount through, as docker\'s does')
  fs.writeFileSync(`${dir}/profile.json`, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }))
  r = run('run', '--rm', '--security-opt', `seccomp=${dir}/profile.json`, 'bb:1', 'sh', '-c', 'mkdir /tmp/x && echo made; mount -t tmpfs x /tmp || echo nomount')
  t.match(r.stderr, /mkdir: can't create directory '\/tmp\/x': Permission denied/, 'a docker JSON profile is applied (EACCES as it says)')
  t.equal(r.stdout, 'nomount\n', 'and mount is still refused (no CAP_SYS_ADMIN)')
  fs.writeFileSync(`${dir}/bad.json`, '{"syscalls": []}')
  r = run('run', '--rm', '--security-opt', `seccomp=${dir}/bad.json`, 'bb:1', 'true')
  t.equal(r.status, 125, 'a bad profile stops the run')
  t.match(r.stderr, /defaultAction/)
  t.equal(run('run', '--rm', '--privileged', 'bb:1', 'sh', '-c', 'echo 1 > /sys/kernel/uevent_helper 2>/dev/null; mount -t tmpfs x /tmp && echo mounted').stdout, 'mounted\n', '--privileged can mount')
  t.equal(run('run', '--rm', '--cap-add', 'BOGUS', 'bb:1', 'true').status, 125, 'an unknown capability stops the run')
})

t.test('network, volumes, tmpfs, read-only root', async (t) => {
  const { dir, run } = containerFixture(t)
  const sh = (flags: string[], cmd: string) => run('run', '--rm', ...flags, 'bb:1', 'sh', '-c', cmd)
  let r = sh([], 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; cat /sys/class/net/lo/flags')
  t.equal(r.stdout, 'lo\n0x9\n', 'default network: a namespace of its own, lo only, up')
  const hostIfs = fs.readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).filter(Boolean).length
  r = sh(['--network', 'host'], 'tail -n +3 /proc/net/dev | wc -l')
  t.equal(Number(r.stdout), hostIfs, '--network host: the host\'s interfaces')
  t.equal(sh(['--network', 'bridge'], 'true').status, 125, 'other networks: an error')
  t.equal(sh(['-p', '80:80'], 'true').status, 125, '-p: an error, not a crash')
  fs.mkdirSync(`${dir}/vol`)
  fs.writeFileSync(`${dir}/vol/in`, 'from host\n')
  r = sh(['-v', `${dir}/vol:/data`], 'cat /data/in; echo back > /data/out')
  t.equal(r.stdout, 'from host\n', '-v: the host dir inside')
  t.equal(fs.readFileSync(`${dir}/vol/out`, 'utf8'), 'back\n', 'and writes reach the host')
  r = sh(['-v', `${dir}/vol:/data:ro`], 'echo x > /data/ro && echo WROTE; cat /data/in')
  t.equal(r.stdout, 'from host\n', '-v …:ro is read-only')
  t.notOk(fs.existsSync(`${dir}/vol/ro`))
  r = sh(['--mount', `type=bind,source=${dir}/vol,target=/m,readonly`, '--mount', 'type=tmpfs,target=/t', '--tmpfs', '/scratch:size=1m'],
    'cat /m/in; grep -E " /(t|scratch) " /proc/mounts | cut -d" " -f2,3')
  t.equal(r.stdout, 'from host\n/t tmpfs\n/scratch tmpfs\n', '--mount bind and tmpfs, --tmpfs')
  r = sh(['--read-only', '--tmpfs', '/tmp', '-v', `${dir}/vol:/data`], 'touch /x && echo ROOTWRITE; touch /tmp/y && echo tmp; touch /data/z && echo vol')
  t.equal(r.stdout, 'tmp\nvol\n', '--read-only: the root refuses writes, its tmpfs and volumes do not')
  t.equal(sh(['-v', 'named:/data'], 'true').status, 125, 'named volumes: an error')
  t.equal(sh(['-v', `${dir}/nonexistent:/data`], 'true').status, 125, 'a missing host path: an error')
  // An image symlink pointing at an absolute path must not send the mount to that host path.
  fs.mkdirSync(`${dir}/r2`)
  fs.symlinkSync(`${dir}/hostside`, `${dir}/r2/evil`)
  fs.mkdirSync(`${dir}/hostside`)
  fs.cpSync(`${dir}/rootfs`, `${dir}/r2`, { recursive: true, verbatimSymlinks: true })
  run('image', 'import', `${dir}/r2`, 'evil:1')
  r = run('run', '--rm', '-v', `${dir}/vol:/evil`, 'evil:1', 'sh', '-c', 'cat /evil/in')
  t.equal(r.stdout, 'from host\n', 'a mount target through an absolute symlink stays inside the root')
  t.same(fs.readdirSync(`${dir}/hostside`), [], 'the host path it names is untouched')
  t.same(mountsUnder(dir), [], 'nothing left mounted')
})

t.test('cgroup limits', async (t) => {
  const { run, ok } = containerFixture(t)
  const r = run('run', '--rm', '--pids-limit', '4', 'bb:1', 'sh', '-c', 'for i in 1 2 3 4 5 6; do sleep 2 & done 2>&1; wait; echo end')
  t.match(r.stdout + r.stderr, /can't fork|Resource temporarily unavailable/, '--pids-limit stops forks')
  const id = ok('run', '-d', '--memory', '64m', '--cpus', '0.5', 'bb:1', 'sleep', '30').trim()
  const cg = (c: string, f: string) => fs.readFileSync(`/sys/fs/cgroup/${c}/strata/${id}/${f}`, 'utf8').trim()
  if (fs.existsSync('/sys/fs/cgroup/memory')) {
    t.equal(cg('memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024), '--memory')
    t.equal(cg('cpu', 'cpu.cfs_quota_us'), '50000', '--cpus')
  } else {
    t.equal(cg('', 'memory.max'), String(64 * 1024 * 1024), '--memory (v2)')
  }
  ok('container', 'rm', '-f', id)
  t.notOk(fs.existsSync(`/sys/fs/cgroup/memory/strata/${id}`), 'the cgroup goes with the container')
  t.equal(run('run', '--rm', '--memory', 'lots', 'bb:1', 'true').status, 125, 'a bad size stops the run')
})
