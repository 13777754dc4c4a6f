// NODE_EXTRA_CA_CERTS and the lines that never speak TLS (bin/strata's
// hold_ca, src/base/held-ca-certs.ts): Node 20 loads the file as it starts,
// so those lines start without it (a missing file would make Node warn as it
// starts: here, whether it was loaded shows on stderr), put it back for what
// they start, and the lines that may reach a registry keep it.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { mountsUnder } from '../fixtures/mount-overlay.js'

const repo = path.resolve(import.meta.dirname, '..', '..')
const strata = path.join(repo, 'bin', 'strata')
/** A CA file that is not there: Node says so as it starts, if it reads the variable. */
const MISSING = '/nonexistent/strata-test-ca.pem'
const LOADED = /Ignoring extra certs from/

function dirs (t: Test): { root: string, env: NodeJS.ProcessEnv } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-held-ca-'))
  const env = { ...process.env, STRATA_RUN_DIR: `${root}/run`, STRATA_ROOT: `${root}/store`, STRATA_SPARE: '0', NODE_EXTRA_CA_CERTS: MISSING }
  t.teardown(() => {
    for (const mp of mountsUnder(root).reverse()) {
      if (spawnSync(strata, ['umount', mp], { env }).status !== 0) spawnSync('umount', ['-l', mp])
    }
    spawnSync('rm', ['-rf', '--one-file-system', root])
  })
  return { root, env }
}

const run = (env: NodeJS.ProcessEnv, args: string[]): { status: number | null, stderr: string } =>
  spawnSync(strata, args, { encoding: 'utf8', env, timeout: 60000 })

t.test('local commands start without the certificates; registry commands load them', async (t) => {
  const { env } = dirs(t)
  for (const args of [['images'], ['ps', '-a'], ['image', 'ls'], ['umount', '/nonexistent-mountpoint'], ['--version'], ['version']]) {
    const r = run(env, args)
    t.notMatch(r.stderr, LOADED, `strata ${args.join(' ')}: not loaded`)
  }
  t.equal(run(env, ['images']).status, 0, 'and a local command works')
  // Port 9 on loopback: nothing listens, the pull fails at once.
  for (const args of [['pull', '127.0.0.1:9/none:latest'], ['image', 'pull', '127.0.0.1:9/none:latest'], ['run', '--rm', '127.0.0.1:9/none:latest', 'true']]) {
    const r = run(env, args)
    t.match(r.stderr, LOADED, `strata ${args.join(' ')}: loaded`)
    t.not(r.status, 0, 'and it fails, as nothing listens')
  }
})

t.test('a mount line\'s daemon starts without them, unless a lower is a lazily pulled layer\'s tree', async (t) => {
  const { root, env } = dirs(t)
  const startEnv = (pid: number): string[] => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
  // As given on the line: a lazily pulled layer's tree with a trailing slash too.
  for (const [name, given] of [['l', 'l'], ['tree', 'tree'], ['slash/tree', 'slash/tree/']]) {
    const key = name.replace('/', '-')
    const [l, u, w, m] = [`${root}/${name}`, `${root}/u-${key}`, `${root}/w-${key}`, `${root}/m-${key}`]
    for (const d of [l, u, w, m]) fs.mkdirSync(d, { recursive: true })
    const r = run(env, ['-o', `lowerdir=${root}/${given},upperdir=${u},workdir=${w}`, m])
    t.equal(r.status, 0, `mounted over ${given}: ${r.stderr}`)
    const rec = JSON.parse(fs.readFileSync(`${root}/run/mounts/${encodeURIComponent(m)}.json`, 'utf8')) as { pid: number }
    const e = startEnv(rec.pid)
    if (name.endsWith('tree')) {
      t.ok(e.includes(`NODE_EXTRA_CA_CERTS=${MISSING}`), `a lower named tree (${given}): the daemon loads them (it may fetch from a registry)`)
    } else {
      t.ok(e.includes('NODE_EXTRA_CA_CERTS=') && e.includes(`STRATA_HELD_CA_CERTS=${MISSING}`), 'a plain lower: started without them, held aside')
    }
    t.equal(run(env, ['umount', m]).status, 0, 'unmounted')
  }
})

t.test('the daemon of an image\'s mount (no lazily pulled layer) starts without them', async (t) => {
  const { root, env } = dirs(t)
  fs.mkdirSync(`${root}/rootfs/etc`, { recursive: true })
  fs.writeFileSync(`${root}/rootfs/etc/hostname`, 'held\n')
  const imp = run(env, ['import', `${root}/rootfs`, 'held-ca:1'])
  t.equal(imp.status, 0, `imported: ${imp.stderr}`)
  const m = `${root}/image-m`
  fs.mkdirSync(m)
  const r = run(env, ['mount', 'held-ca:1', m])
  t.equal(r.status, 0, `mounted: ${r.stderr}`)
  const rec = JSON.parse(fs.readFileSync(`${root}/run/mounts/${encodeURIComponent(m)}.json`, 'utf8')) as { pid: number }
  const e = fs.readFileSync(`/proc/${rec.pid}/environ`, 'utf8').split('\0')
  t.ok(e.includes('NODE_EXTRA_CA_CERTS=') && e.includes(`STRATA_HELD_CA_CERTS=${MISSING}`), 'started without them, held aside')
  t.equal(fs.readFileSync(`${m}/etc/hostname`, 'utf8'), 'held\n', 'and it serves the image')
  t.equal(run(env, ['umount', m]).status, 0, 'unmounted')
})

t.test('held certificates go back into the environment, and a registry client refuses to start without them', async (t) => {
  const script = `const h = await import(${JSON.stringify(path.join(repo, 'dist/base/held-ca-certs.js'))})
const { RegistryClient } = await import(${JSON.stringify(path.join(repo, 'dist/registry/registry-client.js'))})
let said = ''
try { new RegistryClient('registry.example') } catch (err) { said = err.message }
console.log(JSON.stringify({ held: h.caCertsHeld, env: process.env.NODE_EXTRA_CA_CERTS ?? null, left: process.env.STRATA_HELD_CA_CERTS ?? null, said }))`
  const probe = (env: NodeJS.ProcessEnv): { held: boolean, env: string | null, left: string | null, said: string } => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env })
    return JSON.parse(r.stdout) as { held: boolean, env: string | null, left: string | null, said: string }
  }
  const base = { ...process.env }
  delete base.NODE_EXTRA_CA_CERTS
  delete base.STRATA_HELD_CA_CERTS
  const held = probe({ ...base, NODE_EXTRA_CA_CERTS: '', STRATA_HELD_CA_CERTS: '/some/ca.pem' })
  t.same([held.held, held.env, held.left], [true, '/some/ca.pem', null], 'put back, and nothing left held')
  t.match(held.said, /without NODE_EXTRA_CA_CERTS.*registry\.example/, 'the registry client says the routing is wrong')
  const plain = probe(base)
  t.same([plain.held, plain.env, plain.said], [false, null, ''], 'nothing held: nothing changes, and the client starts')
})
