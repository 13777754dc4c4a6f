// strata run: a command in a container of an image, in its own mount, PID,
// UTS and IPC namespaces, with the image's Entrypoint, Cmd, Env, WorkingDir
// and User; its exit status, its signals, and nothing left behind.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync, spawn, spawnSync } from 'node:child_process'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')

function setup (t: Test) {
  const dir = t.testdir({ rootfs: { bin: {}, etc: { passwd: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n', group: 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n' }, tmp: {} } })
  fs.copyFileSync('/bin/busybox', `${dir}/rootfs/bin/busybox`)
  fs.chmodSync(`${dir}/rootfs/bin/busybox`, 0o755)
  for (const x of ['sh', 'echo', 'cat', 'ls', 'id', 'pwd', 'hostname', 'sleep', 'mount', 'tr', 'head']) fs.symlinkSync('busybox', `${dir}/rootfs/bin/${x}`)
  const env = { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` }
  const run = (...args: string[]) => spawnSync(strata, args, { env, encoding: 'utf8', timeout: 60000 })
  execFileSync(strata, ['image', 'import', `${dir}/rootfs`, 'busy:1', '-c', 'CMD ["/bin/sh", "-c", "echo default cmd"]'], { env })
  t.teardown(() => {
    for (const m of fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(dir))) spawnSync('umount', ['-l', m])
  })
  return { dir, env, run }
}

t.test('the image config and the flags make the process', async (t) => {
  const { dir, env, run } = setup(t)
  t.equal(run('run', '--rm', 'busy:1').stdout, 'default cmd\n', "the image's Cmd by default")
  execFileSync(strata, ['image', 'import', `${dir}/rootfs`, 'app:1',
    '-c', 'ENTRYPOINT ["/bin/sh", "-c"]', '-c', 'CMD ["echo $GREETING from $(pwd) as $(id -u):$(id -g) groups $(id -G)"]',
    '-c', 'ENV GREETING=hello', '-c', 'WORKDIR /srv', '-c', 'USER app'], { env })
  let r = run('run', '--rm', 'app:1')
  t.equal(r.stdout, 'hello from /srv as 1000:1000 groups 1000 2000\n', `Entrypoint, Cmd, Env, WorkingDir and User applied (${r.stderr})`)
  r = run('run', '--rm', '-e', 'GREETING=bye', '-w', '/tmp', '-u', '0', 'app:1', 'echo $GREETING from $(pwd) as $(id -u)')
  t.equal(r.stdout, 'bye from /tmp as 0\n', 'flags override; the command replaces Cmd, the Entrypoint stays')
  r = run('run', '--rm', '--entrypoint', '', 'app:1', '/bin/echo', '-n', 'plain', '-c', 'x')
  t.equal(r.stdout, 'plain -c x', '--entrypoint "" clears it; options after the image belong to the command')
})

t.test('namespaces, exit status, cleanup', async (t) => {
  const { dir, run } = setup(t)
  const r = run('run', '--name', 'job', 'busy:1', '/bin/sh', '-c', 'echo pid=$$ host=$(hostname); ls /dev | tr "\\n" " "; echo; cat /proc/1/cmdline | tr "\\0" " "; echo; exit 3')
  t.equal(r.status, 3, 'the exit status is the command\'s')
  const [pid, devs, cmdline] = r.stdout.split('\n')
  const id = JSON.parse(execFileSync(strata, ['container', 'inspect', 'job'], { env: { ...process.env, STRATA_ROOT: `${dir}/store` }, encoding: 'utf8' }))[0].Id
  t.equal(pid, `pid=1 host=${id.slice(0, 12)}`, 'PID 1 in its own PID namespace, hostname of its own')
  t.equal(devs, 'core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero ', "docker's default /dev")
  t.match(cmdline, /^\/bin\/sh -c /, '/proc is the container\'s')
  t.equal(run('run', '--rm', 'busy:1', '/nonexistent').status, 127, 'command not found: 127')
  t.notOk(fs.readFileSync('/proc/mounts', 'utf8').includes(`${dir}/run`), 'nothing left mounted')
  t.same(fs.readdirSync(`${dir}/run/run`), [], 'no run dirs left')
  t.match(run('container', 'ls', '-a').stdout, /\sjob\n/, 'without --rm the container stays')
  t.notMatch(run('container', 'ls', '-a').stdout, /strata_/, 'with --rm it goes')
})

t.test("a pipe the output goes to blocks as a shell's child's does", async (t) => {
  const { env } = setup(t)
  // The reader starts late, so the pipe fills: a container writing to a
  // non-blocking pipe would fail with EAGAIN there (Node sets that mode on
  // the pipes it writes to). stdin as a pipe too, written late.
  const r = spawnSync('sh', ['-c', `(sleep 0.5; echo late) | ${strata} run --rm -i busy:1 /bin/sh -c 'cat; head -c 9000000 /dev/zero; echo done >&2' 2>&1 | (sleep 1; wc -c)`], { env, encoding: 'utf8', timeout: 60000 })
  t.equal(r.stdout.trim(), String('late\n'.length + 9000000 + 'done\n'.length), `every byte arrived (${r.stderr.trim()})`)
})

t.test('signals reach the command', async (t) => {
  const { env } = setup(t)
  const child = spawn(strata, ['run', '--rm', 'busy:1', '/bin/sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  for (let i = 0; i < 200 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50))
  child.kill('SIGTERM')
  const code = await new Promise((r) => child.on('exit', (c) => { r(c) }))
  t.equal(code, 7, 'the trap ran and its status came back')
  t.match(out, /got TERM/)
})
