// The store under pressure: two commands at once (the lock, and what it
// says while waiting), a full disk during commit, and an import killed
// half-way — each leaves the store consistent (system check) and readable;
// and a command starting never sweeps away another one's temp files.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { withStoreLock } from '../../src/store/store-lock.js'
import { mountedType } from '../fixtures/mount-overlay.js'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('a second command waits for the lock, and says for whom', async (t) => {
  const dir = t.testdir({ rootfs: { a: 'a' } })
  const env = { ...process.env, STRATA_ROOT: `${dir}/store` }
  execFileSync(strata, ['image', 'ls'], { env }) // creates the store
  let err = ''
  let done = false
  await withStoreLock(`${dir}/store`, async () => {
    const child = spawn(strata, ['image', 'import', `${dir}/rootfs`, 'a:1'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('exit', () => { done = true })
    for (let i = 0; i < 100 && !err.includes('waiting'); i++) await sleep(50)
    t.match(err, `waiting for the store lock held by pid ${process.pid}`)
    t.notOk(done, 'it waits')
  })
  // eslint-disable-next-line no-unmodified-loop-condition -- done is set by a callback while the loop sleeps
  for (let i = 0; i < 200 && !done; i++) await sleep(50)
  t.match(execFileSync(strata, ['image', 'ls'], { env, encoding: 'utf8' }), /^a\s+1\s/m, 'and goes on once the lock is free')
})

t.test('a full disk during commit: ENOSPC, and the store stays consistent', async (t) => {
  // Not t.testdir: its removal would run before the tmpfs is unmounted.
  const dir = fs.mkdtempSync('/tmp/strata-full-')
  fs.mkdirSync(`${dir}/rootfs`)
  fs.writeFileSync(`${dir}/rootfs/a`, 'a')
  fs.mkdirSync(`${dir}/mnt`)
  const root = `${dir}/store`
  fs.mkdirSync(root)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', root])
  t.teardown(() => {
    if (mountedType(`${dir}/mnt`)) spawnSync(strata, ['umount', `${dir}/mnt`])
    spawnSync('umount', [root])
    spawnSync('rm', ['-rf', '--one-file-system', dir])
  })
  const env = { ...process.env, STRATA_ROOT: root }
  const run = (...a: string[]) => spawnSync(strata, a, { env, encoding: 'utf8' })
  run('image', 'import', `${dir}/rootfs`, 'base:1')
  run('container', 'create', '--name', 'c', 'base:1')
  run('mount', 'c', `${dir}/mnt`)
  fs.writeFileSync(`${dir}/mnt/big`, crypto.randomBytes(3500 * 1024))
  run('umount', `${dir}/mnt`)
  const ls = ['image', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}} {{.CreatedAt}} {{.Size}}']
  const before = run(...ls).stdout
  const r = run('commit', 'c', 'full:1')
  t.not(r.status, 0, 'commit fails')
  t.match(r.stderr, /store .* is full.*committing container c.*ENOSPC|ENOSPC.*store .* is full/, `and says why: ${r.stderr.trim()}`)
  t.equal(run(...ls).stdout, before, 'no image half-made')
  t.equal(run('system', 'check').stdout, 'store is consistent\n')
  t.same(fs.readdirSync(`${root}/tmp`), [], 'no temp file left')
})

t.test('an import killed half-way leaves the store consistent', async (t) => {
  const dir = t.testdir({ rootfs: {} })
  for (let i = 0; i < 40; i++) fs.writeFileSync(`${dir}/rootfs/f${i}`, crypto.randomBytes(2 << 20))
  execFileSync('tar', ['-C', `${dir}/rootfs`, '-cf', `${dir}/big.tar`, '.'])
  const env = { ...process.env, STRATA_ROOT: `${dir}/store` }
  const child = spawn(strata, ['image', 'import', `${dir}/big.tar`, 'big:1'], { env, stdio: 'ignore' })
  // Kill it once it has started filling a layer dir.
  for (let i = 0; i < 400; i++) {
    const l = fs.existsSync(`${dir}/store/layers`) ? fs.readdirSync(`${dir}/store/layers`) : []
    if (l.some((n) => n.startsWith('.tmp-'))) break
    await sleep(10)
  }
  child.kill('SIGKILL')
  await new Promise((r) => child.on('exit', r))
  // check sees the leftovers of the dead import (and only them); the next open sweeps them.
  const check = spawnSync(strata, ['system', 'check'], { env, encoding: 'utf8' })
  t.equal(check.status, 1)
  t.match(check.stdout, /^problem temp tmp\/\.tmp-\d+-\d+-import\.tar: .*\nproblem temp layers\/\.tmp-\d+-\w+: .*\n2 problem\(s\) left\n$/, 'system check reports the temp names of the dead import')
  t.equal(spawnSync(strata, ['system', 'check'], { env, encoding: 'utf8' }).stdout, check.stdout, 'check itself sweeps nothing')
  execFileSync(strata, ['image', 'ls'], { env })
  t.same(fs.readdirSync(`${dir}/store/layers`), [], 'the half-extracted layer is gone')
  t.notMatch(execFileSync(strata, ['image', 'ls'], { env, encoding: 'utf8' }), /big/, 'no half image')
  execFileSync(strata, ['image', 'import', `${dir}/big.tar`, 'big:1'], { env })
  t.match(execFileSync(strata, ['image', 'ls'], { env, encoding: 'utf8' }), /big\s+1/, 'and the import works again')
})

t.test('opening the store removes the temp files of dead processes only: another command may be filling one', async (t) => {
  const dir = t.testdir({})
  const root = `${dir}/store`
  const env = { ...process.env, STRATA_ROOT: root }
  execFileSync(strata, ['image', 'ls'], { env })
  // A PID that is gone: a child that has exited (and been reaped).
  const gone = spawnSync('true').pid
  const live = process.pid
  const made = [
    `layers/.tmp-${gone}-aaaa/`, `layers/.tmp-${live}-bbbb/`,
    `tmp/pull-${gone}-cccc/`, `tmp/pull-${live}-dddd/`, `tmp/.tmp-${gone}-0-import.tar`, `tmp/.tmp-${live}-0-import.tar`,
    `oci/blobs/sha256/.tmp-${gone}-1-incoming`, `oci/blobs/sha256/.tmp-${live}-1-incoming`,
  ]
  for (const m of made) {
    if (m.endsWith('/')) fs.mkdirSync(`${root}/${m}`, { recursive: true })
    else fs.writeFileSync(`${root}/${m}`, 'x')
  }
  execFileSync(strata, ['image', 'ls'], { env })
  for (const m of made) t.equal(fs.existsSync(`${root}/${m}`), m.includes(`-${live}-`), m.replace(`-${live}-`, '-LIVE-').replace(`-${gone}-`, '-DEAD-'))
})
