// The native launcher (build/Release/strata, native/launcher-main.cc), which
// scripts/setup installs as /usr/local/bin/strata: found through a symlink,
// it runs bin/strata for every command it does not take itself, with the
// same output and exit codes; a mount line with no spare waiting mounts
// through bin/strata's own path; and the variable it tells bin/strata why
// with reaches no command, daemon or spare.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mountsUnder } from '../fixtures/mount-overlay.js'
import { endSpares, waitingSpares } from '../../src/fuse/spare-processes.js'

const repo = path.resolve(import.meta.dirname, '..', '..')
const script = path.join(repo, 'bin', 'strata')
const launcher = path.join(repo, 'build', 'Release', 'strata')

interface Dirs { root: string, link: string, l: string, u: string, w: string, m: string, run: string, env: NodeJS.ProcessEnv }

function dirs (t: Test, env: NodeJS.ProcessEnv = {}): Dirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-launcher-'))
  const d = {
    root,
    link: `${root}/bin/strata`,
    l: `${root}/l`,
    u: `${root}/u`,
    w: `${root}/w`,
    m: `${root}/m`,
    run: `${root}/run`,
    env: { ...process.env, STRATA_RUN_DIR: `${root}/run`, STRATA_ROOT: `${root}/store`, ...env },
  }
  for (const p of [d.l, d.u, d.w, d.m, `${root}/bin`]) fs.mkdirSync(p)
  fs.writeFileSync(`${d.l}/f`, 'lower')
  // As scripts/setup installs it: a link on PATH to the build.
  fs.symlinkSync(launcher, d.link)
  t.teardown(async () => {
    for (const mp of mountsUnder(root).reverse()) {
      if (spawnSync(script, ['umount', mp], { env: { ...d.env, STRATA_SPARE: '0' } }).status !== 0) spawnSync('umount', ['-l', mp])
    }
    await endSpares(d.run)
    spawnSync('rm', ['-rf', '--one-file-system', root])
  })
  return d
}

const run = (cmd: string, d: Dirs, args: string[], env: NodeJS.ProcessEnv = d.env): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 60000 })

const recordPid = (d: Dirs, m: string): number =>
  (JSON.parse(fs.readFileSync(`${d.run}/mounts/${encodeURIComponent(m)}.json`, 'utf8')) as { pid: number }).pid

const environOf = (pid: number): string[] => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')

t.test('through a symlink, commands it does not take say what bin/strata says', async (t) => {
  const d = dirs(t)
  for (const args of [['--version'], ['image', 'ls'], ['--no-such-flag'], ['image', 'inspect', 'nope:1'], ['-o', 'lowerdir=/nonexistent-dir', `${d.root}/m`]]) {
    const a = run(d.link, d, args)
    const b = run(script, d, args, { ...d.env, STRATA_SPARE: '0' })
    t.equal(a.status, b.status, `${args.join(' ')}: exit ${String(b.status)}`)
    t.equal(a.stdout, b.stdout, `${args.join(' ')}: the same output`)
    t.equal(a.stderr, b.stderr, `${args.join(' ')}: the same message`)
  }
  t.same(mountsUnder(d.root), [], 'nothing mounted')
})

t.test('--version and -V are answered without starting Node, from package.json', async (t) => {
  const d = dirs(t)
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string }
  // No node, no sh on this PATH (bin/strata is run through /bin/sh, which
  // then finds no node): only the launcher itself can answer.
  const env = { ...d.env, PATH: `${d.root}/empty` }
  for (const flag of ['--version', '-V']) {
    const r = run(d.link, d, [flag], env)
    t.equal(r.status, 0, `${flag}: exit 0 ${r.stderr}`)
    t.equal(r.stdout, pkg.version + '\n', `${flag}: the package's version`)
  }
  const broken = run(d.link, d, ['--version', 'extra'], env)
  t.not(broken.status, 0, 'with more arguments it is bin/strata\'s (which needs node) again')
})

t.test('a mount line with no spare mounts through bin/strata, and STRATA_SPARE_TRIED stays between the two', async (t) => {
  const d = dirs(t, { STRATA_SPARE: '0' })
  const r = run(d.link, d, ['-o', `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w}`, d.m])
  t.equal(r.status, 0, `mounted: ${r.stderr}`)
  t.equal(fs.readFileSync(`${d.m}/f`, 'utf8'), 'lower', 'the lower\'s file through it')
  const pid = recordPid(d, d.m)
  t.notOk(environOf(pid).some((kv) => kv.startsWith('STRATA_SPARE_TRIED=')), 'the daemon\'s environment does not have it')
  const u = run(d.link, d, ['umount', d.m])
  t.equal(u.status, 0, `strata umount through the launcher: ${u.stderr}`)
  t.same(mountsUnder(d.root), [], 'unmounted')
})

t.test('with spares on, a mount line is handed to the spare by the launcher itself', async (t) => {
  const d = dirs(t, { STRATA_SPARE: '1' })
  const first = `${d.root}/first`
  fs.mkdirSync(first)
  t.equal(run(d.link, d, ['-o', `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w}`, first]).status, 0, 'a first line (cold: it boots a spare as it ends)')
  t.equal(run(d.link, d, ['umount', first]).status, 0, 'unmounted')
  let spare: number | undefined
  for (let i = 0; i < 300 && spare === undefined; i++) {
    spare = waitingSpares(d.run)[0]
    if (spare === undefined) await new Promise((r) => setTimeout(r, 50))
  }
  t.ok(spare, 'a spare waits')
  t.notOk(environOf(spare!).some((kv) => kv.startsWith('STRATA_SPARE_TRIED=')), 'which was not booted with it either')
  fs.rmSync(d.u, { recursive: true })
  fs.rmSync(d.w, { recursive: true })
  fs.mkdirSync(d.u)
  fs.mkdirSync(d.w)
  const r = run(d.link, d, ['-o', `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w}`, d.m])
  t.equal(r.status, 0, `mounted: ${r.stderr}`)
  t.equal(recordPid(d, d.m), spare, 'by the spare')
  t.equal(fs.readFileSync(`${d.m}/f`, 'utf8'), 'lower', 'and served')
  t.equal(run(d.link, d, ['umount', d.m]).status, 0, 'unmounted')
})
