// What no one may get through strata's containers: a host user reaching an
// image's setuid binary or device node through a running container's mount
// (run mounts live under a 0700 directory), and a build whose RUN tries a
// breakout, or whose FUSE daemon or client dies, producing an image.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { containerFixture, mountsUnder, strata } from '../fixtures/container-image.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('a host user gets nothing from a running container\'s mount', async (t) => {
  const { env, ok } = containerFixture(t)
  // The run dir in a world-traversable place, so only strata's own 0700 stands in the way.
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-run-'))
  fs.chmodSync(runDir, 0o755)
  const e = { ...env, STRATA_RUN_DIR: runDir }
  const user = `st${crypto.randomBytes(3).toString('hex')}`
  execFileSync('useradd', ['-M', '-s', '/bin/sh', user])
  let id = ''
  // One teardown, in order: the container goes first (while its mount is
  // still there for its owner to unmount), then the user, then the dir.
  t.teardown(() => {
    if (id) spawnSync(strata, ['container', 'rm', '-f', id], { env: e })
    spawnSync('userdel', [user])
    for (const m of mountsUnder(runDir).reverse()) spawnSync('umount', ['-l', m])
    fs.rmSync(runDir, { recursive: true, force: true })
  })
  id = execFileSync(strata, ['run', '-d', 'bb:1', 'sleep', '60'], { env: e, encoding: 'utf8' }).trim()
  const mnt = `${runDir}/run/${id}`
  t.ok(mountsUnder(runDir).includes(mnt), 'the container is mounted there')
  t.equal(fs.statSync(`${mnt}/bin/suid-euid`).mode & 0o4000, 0o4000, 'the image has a setuid binary')
  t.equal(fs.statSync(`${runDir}/run`).mode & 0o777, 0o700, 'the run mounts\' directory is 0700')
  const as = (cmd: string) => spawnSync('su', ['-s', '/bin/sh', user, '-c', cmd], { encoding: 'utf8' })
  t.equal(as(`ls ${runDir} >/dev/null && echo listed`).stdout, 'listed\n', 'control: the user reaches the run dir itself')
  let r = as(`${mnt}/bin/suid-euid`)
  t.notMatch(r.stdout, /euid=0/, 'the setuid binary gives no root')
  t.match(r.stderr, /Permission denied/)
  r = as(`head -c1 ${mnt}/kmsg && echo READ; echo x > ${mnt}/kmsg && echo WROTE`)
  t.equal(r.stdout, '', 'the image\'s device node can be neither read nor written')
  t.equal(ok('exec', id, '/bin/suid-euid').trim(), 'euid=0', 'inside the container it is what the image says')
})

t.test('build RUN steps are isolated; a breakout or a dead daemon fails the build', async (t) => {
  const { dir, env, run, ok } = containerFixture(t)
  const build = (tag: string, dockerfile: string) => {
    fs.mkdirSync(`${dir}/ctx-${tag}`, { recursive: true })
    fs.writeFileSync(`${dir}/ctx-${tag}/Dockerfile`, dockerfile)
    return run('build', '-t', `${tag}:1`, `${dir}/ctx-${tag}`)
  }
  let r = build('caps', 'FROM bb:1\nRUN grep -E "^(CapEff|Seccomp):" /proc/self/status > /caps\n')
  t.equal(r.status, 0, r.stderr)
  t.equal(ok('run', '--rm', 'caps:1', 'cat', '/caps'), 'CapEff:\t00000000a80425fb\nSeccomp:\t2\n', 'a RUN step has docker\'s default capabilities and seccomp')
  r = build('mnt', 'FROM bb:1\nRUN mount -t tmpfs x /tmp\n')
  t.not(r.status, 0, 'a RUN that mounts fails the build')
  t.notMatch(ok('image', 'ls'), /^mnt\s/m, 'and tags nothing')
  fs.writeFileSync(`${dir}/host-marker`, 'x')
  r = build('esc', `FROM bb:1\nRUN /bin/escape ${dir}/host-marker | grep -q contained\n`)
  t.equal(r.status, 0, 'the double-chroot walk stays inside a RUN step too')
  // The FUSE daemon killed during a RUN: the build fails, nothing is committed.
  fs.mkdirSync(`${dir}/ctx-dead`)
  fs.writeFileSync(`${dir}/ctx-dead/Dockerfile`, 'FROM bb:1\nRUN i=0; while [ $i -lt 100 ]; do echo $i > /f$i; i=$((i+1)); sleep 0.1; done\n')
  const child = spawn(strata, ['build', '-t', 'dead:1', `${dir}/ctx-dead`], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  let daemon = 0
  for (let i = 0; i < 300 && !daemon; i++) {
    await sleep(100)
    try {
      for (const n of fs.readdirSync(`${dir}/run/mounts`).filter((x) => x.endsWith('.json'))) {
        const rec = JSON.parse(fs.readFileSync(`${dir}/run/mounts/${n}`, 'utf8'))
        if (rec.mountpoint.startsWith(`${dir}/run/run/`)) daemon = rec.pid
      }
    } catch { /* not yet */ }
  }
  t.ok(daemon, 'the RUN step\'s daemon was found')
  await sleep(1500)
  process.kill(daemon, 'SIGKILL')
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => { resolve(c) }))
  t.not(code, 0, `the build fails (${out.split('\n').slice(-3).join(' / ')})`)
  t.notMatch(out, /Successfully built/)
  t.notMatch(ok('image', 'ls'), /^dead\s/m, 'nothing tagged')
  t.same(mountsUnder(`${dir}/run`), [], 'nothing left mounted')
})
