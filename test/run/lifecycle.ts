// A container's lifecycle as docker's verbs drive it: run -d with its
// supervisor, ps/container ls STATUS and COMMAND, logs, exec, stop, kill,
// start, restart, wait, rm -f of a running container, prune; and that
// whatever dies (the run client, the supervisor, the FUSE daemon), the
// container's processes, mount and state are cleaned up or repaired.
import t from 'tap'
import fs from 'node:fs'
import { spawn } from 'node:child_process'
import { containerFixture, mountsUnder, strata } from '../fixtures/container-image.js'
import { mulberry32 } from '../fixtures/mulberry32.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The processes of these containers on the host (by the cgroup strata made for each). */
function containerProcs (ids: string[]): number[] {
  const out: number[] = []
  for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cg = fs.readFileSync(`/proc/${p}/cgroup`, 'utf8')
      if (ids.some((id) => cg.includes(`/strata/${id}`))) out.push(Number(p))
    } catch { /* gone */ }
  }
  return out
}

async function until (what: () => boolean, ms = 20000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (what()) return true
  return what()
}

t.test('run -d, ps, logs, exec, stop, start, kill, wait, restart, rm -f, prune', async (t) => {
  const { dir, run, ok } = containerFixture(t)
  const id = ok('run', '-d', '--name', 'svc', '-e', 'FROM_RUN=yes', 'bb:1', 'sh', '-c',
    'echo started; echo oops >&2; trap "echo got TERM; exit 7" TERM; trap "exit 10" USR1; while :; do sleep 0.1; done').trim()
  t.match(id, /^[0-9a-f]{64}$/, 'run -d prints the full ID')
  const ps = ok('ps')
  t.match(ps, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/, 'docker\'s columns')
  t.match(ps, new RegExp(`^${id.slice(0, 12)}\\s+bb:1\\s+"sh -c echo started;…"\\s+.+ago\\s+Up (Less than a second|\\d+ seconds?)\\s+svc$`, 'm'), 'running: Up …')
  t.ok(await until(() => ok('logs', 'svc').includes('started')), 'logs has the output')
  const logs = run('logs', 'svc')
  t.equal(logs.stdout, 'started\n', 'stdout to stdout')
  t.equal(logs.stderr, 'oops\n', 'stderr to stderr')
  let r = run('exec', '-e', 'X=1', '-w', '/tmp', 'svc', 'sh', '-c', 'echo $FROM_RUN $X $(pwd) $(id -u); grep CapEff /proc/self/status; cat /proc/1/cmdline | tr "\\0" " "')
  t.equal(r.stdout, 'yes 1 /tmp 0\nCapEff:\t00000000a80425fb\nsh -c echo started; echo oops >&2; trap "echo got TERM; exit 7" TERM; trap "exit 10" USR1; while :; do sleep 0.1; done ', `exec: the container's env, PID namespace and caps (${r.stderr})`)
  r = run('exec', '-u', 'nobody', 'svc', 'sh', '-c', 'id -u; grep Seccomp: /proc/self/status; mount -t tmpfs x /tmp || echo refused')
  t.equal(r.stdout, '65534\nSeccomp:\t2\nrefused\n', 'exec -u, with the seccomp filter')
  t.equal(run('exec', 'svc', 'sh', '-c', 'exit 5').status, 5, 'exec: the command\'s status')
  t.equal(run('exec', 'svc', '/nonexistent').status, 127, 'exec: not found is 127')
  t.equal(ok('stop', '-t', '5', 'svc'), 'svc\n')
  t.equal(ok('wait', 'svc'), '7\n', 'stop sent SIGTERM: the trap\'s status')
  t.match(ok('logs', 'svc'), /got TERM/)
  t.notMatch(ok('ps'), /svc/, 'ps lists running containers only')
  t.match(ok('ps', '-a'), /Exited \(7\) .* ago\s+svc$/m, 'ps -a: Exited (7) … ago')
  t.same(mountsUnder(`${dir}/run`), [], 'a stopped container is unmounted')
  t.equal(ok('start', 'svc'), 'svc\n')
  t.match(ok('ps'), /Up .*svc$/m, 'start runs it again')
  t.equal(ok('kill', '-s', 'USR1', 'svc'), 'svc\n', 'kill -s')
  t.equal(ok('wait', 'svc'), '10\n', 'kill -s USR1 reached its trap (PID 1 gets only signals it handles, as under docker)')
  t.equal(run('kill', 'svc').status, 1, 'kill of a stopped container fails')
  ok('restart', '-t', '1', 'svc')
  t.match(ok('ps'), /Up .*svc$/m, 'restart')
  // A command that ignores SIGTERM is killed after the grace time.
  ok('run', '-d', '--name', 'stubborn', 'bb:1', 'sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done')
  const t0 = Date.now()
  ok('stop', '-t', '1', 'stubborn')
  t.ok(Date.now() - t0 >= 1000, 'stop waited the grace time')
  t.equal(ok('wait', 'stubborn'), '137\n', 'then SIGKILL: 137')
  t.equal(run('container', 'rm', 'svc').status, 1, 'rm of a running container needs -f')
  t.match(ok('container', 'rm', '-f', 'svc'), /svc/)
  t.notMatch(ok('ps', '-a'), /\ssvc$/m, 'rm -f stopped and removed it')
  t.same(containerProcs([id]), [], 'no container process left')
  ok('run', '--name', 'done1', 'bb:1', 'true')
  const pruned = ok('container', 'prune', '-f')
  t.match(pruned, /^Deleted Containers:\n/, 'prune')
  t.equal(ok('ps', '-a', '-q'), '', 'prune removed every stopped container')
  t.same(mountsUnder(dir), [], 'nothing left mounted')
})

t.test('run -d --rm removes the container when it exits', async (t) => {
  const { run, ok } = containerFixture(t)
  const id = ok('run', '-d', '--rm', 'bb:1', 'sleep', '8').trim()
  t.match(ok('ps', '-q'), id.slice(0, 12))
  t.equal(ok('wait', id.slice(0, 12)), '0\n')
  t.ok(await until(() => !ok('ps', '-a', '-q').includes(id.slice(0, 12))), 'gone once exited')
  t.equal(run('run', '--rm', '-d', 'nosuch:1').status, 125, 'a missing image exits 125, no TypeError')
})

t.test('kill -9 of the run client, the supervisor or the FUSE daemon leaves nothing behind', async (t) => {
  const { dir, env, ok } = containerFixture(t)
  // The client of a foreground run.
  const client = spawn(strata, ['run', '--name', 'fg', 'bb:1', 'sh', '-c', 'echo ready; sleep 60'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  client.stdout.on('data', (d: Buffer) => { out += d.toString() })
  t.ok(await until(() => out.includes('ready')), 'the container runs')
  const ids = [JSON.parse(ok('container', 'inspect', 'fg'))[0].Id]
  t.ok(containerProcs(ids).length > 0, 'its processes are there')
  client.kill('SIGKILL')
  t.ok(await until(() => containerProcs(ids).length === 0), 'its processes die with the client')
  t.match(ok('ps', '-a'), /Exited \(255\) .*fg$/m, 'the next command repairs the state: exited (255)')
  t.ok(await until(() => mountsUnder(`${dir}/run`).length === 0), 'and unmounts it')

  // The supervisor of run -d.
  ids.push(ok('run', '-d', '--name', 'bg', 'bb:1', 'sleep', '60').trim())
  const state = (n = 'bg') => JSON.parse(ok('container', 'inspect', n))[0].State
  const sup = JSON.parse(fs.readFileSync(`${dir}/store/containers/${JSON.parse(ok('container', 'inspect', 'bg'))[0].Id}/state.json`, 'utf8')).ownerPid as number
  process.kill(sup, 'SIGKILL')
  t.ok(await until(() => containerProcs(ids).length === 0), 'the container dies with its supervisor')
  t.equal(state().Status, 'exited', 'repaired: exited')
  t.equal(state().ExitCode, 255)
  t.same(mountsUnder(`${dir}/run`), [], 'unmounted')

  // The FUSE daemon serving a running container.
  ids.push(ok('run', '-d', '--name', 'fuse', 'bb:1', 'sleep', '60').trim())
  const mnt = mountsUnder(`${dir}/run`)[0]
  const rec = fs.readdirSync(`${dir}/run/mounts`).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(fs.readFileSync(`${dir}/run/mounts/${n}`, 'utf8'))).find((x) => x.mountpoint === mnt)
  process.kill(rec.pid, 'SIGKILL')
  t.equal(ok('wait', 'fuse').trim(), '255', 'the container is ended when its filesystem goes (255: strata\'s failure, not the command\'s)')
  t.match(state('fuse').Error, /FUSE daemon .* died/, 'and says why')
  t.ok(await until(() => mountsUnder(`${dir}/run`).length === 0), 'unmounted')
  t.same(containerProcs(ids), [], 'no container process left')
})

t.test('kill -9 of the run client at random moments of its start-up leaves nothing behind', async (t) => {
  const { dir, env, ok } = containerFixture(t)
  // Seeded, so a failing moment can be replayed: STRATA_TEST_SEED=<n>.
  const seed = Number(process.env.STRATA_TEST_SEED ?? Date.now() % 100000)
  const rand = mulberry32(seed)
  t.comment(`seed ${seed}`)
  for (let i = 0; i < 6; i++) {
    const delay = rand.int(1500)
    const rm = i % 2 === 0
    const client = spawn(strata, ['run', ...(rm ? ['--rm'] : []), '--name', `k${i}`, 'bb:1', 'sleep', '60'], { env, stdio: 'ignore' })
    await sleep(delay)
    client.kill('SIGKILL')
    await new Promise((resolve) => client.once('exit', resolve))
    ok('ps', '-a') // the next command repairs
    const ids = ok('container', 'ls', '-a', '-q', '--no-trunc').split('\n').filter(Boolean)
    t.ok(await until(() => containerProcs(ids).length === 0), `killed after ${delay} ms: no container process left`)
    t.ok(await until(() => mountsUnder(`${dir}/run`).length === 0), `killed after ${delay} ms: nothing mounted`)
    const states = ids.map((id) => JSON.parse(ok('container', 'inspect', id))[0].State.Status as string)
    t.ok(states.every((s) => s === 'exited' || s === 'created'), `killed after ${delay} ms: every container exited or never started (${states.join(', ')})`)
    if (rm) t.notMatch(ok('ps', '-a'), new RegExp(`\\sk${i}\\n`), `killed after ${delay} ms: --rm is honoured`)
  }
})
