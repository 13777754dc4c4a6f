// The store's view of lazily pulled layers: `system check` reports a layer
// not yet filled as partial (a notice, exit 0), never as a missing or
// corrupt blob; a fill killed at each of its steps leaves nothing check
// calls corrupt or missing, and the next save completes it; GC (image rm)
// removes the lazy dirs of images gone, and check finds and repairs an
// orphan lazy dir.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { startRegistry } from '../fixtures/registry.js'
import { cli, richStore } from '../fixtures/estargz-image.js'
import { strataBin } from '../fixtures/strata-async.js'

const exec = promisify(execFile)
const hexes = (dir: string): string[] => fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n)) : []

interface Found { kind: string, name: string, what: string, repaired: boolean, notice?: boolean }

async function check (root: string, ...flags: string[]): Promise<{ code: number, found: Found[] }> {
  const r = await cli(root).call(['system', 'check', '--json', ...flags])
  return { code: r.code, found: JSON.parse(r.stdout) as Found[] }
}

/** The signal that ended a strata command meant to kill itself at a kill point. */
const killedAt = (root: string, point: string, args: string[]): Promise<string | null> => new Promise((resolve, reject) => {
  const child = spawn(strataBin, args, { env: { ...process.env, STRATA_ROOT: root, STRATA_TEST_KILL_AT: `${point}:1` }, stdio: 'ignore' })
  child.on('error', reject)
  child.on('close', (_code, signal) => { resolve(signal) })
})

async function setup (t: Test) {
  const reg = await startRegistry(t)
  const dir = t.testdir({})
  const { a } = await richStore(t, dir)
  const ref = `${reg.host}/rich:1`
  await a.run('image', 'tag', 'rich:1', ref)
  await a.run('image', 'push', '--estargz', ref)
  const size = (JSON.parse((await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout) as { layers: Array<{ size: number }> }).layers.map((l) => l.size)
  return { dir, ref, size }
}

t.test('a lazily pulled image is partial, not broken; a fill killed at any step leaves nothing broken', async (t) => {
  const { dir, ref, size } = await setup(t)
  const root = path.join(dir, 'store-lazy')
  const b = cli(root, { STRATA_LAZY_FILL: '0' })
  await b.run('image', 'pull', '--lazy', ref)
  let c = await check(root)
  t.equal(c.code, 0, 'system check: exit 0')
  t.same(c.found.map((f) => [f.kind, f.notice]), [['partial-layer', true], ['partial-layer', true]], 'both layers reported as partial notices, nothing else')
  t.ok(c.found.every((f) => /was pulled lazily, \d+ of its \d+ bytes fetched so far/.test(f.what)), 'with the bytes fetched')
  const text = await b.call(['system', 'check'])
  t.match(text.stdout, /^notice partial-layer sha256:[0-9a-f]{64}: /m, 'the text form says notice')
  t.match(text.stdout, /^store is consistent$/m)

  await b.run('run', '--rm', ref, '/bin/sh', '-c', 'cat /data/big > /dev/null')
  c = await check(root)
  const fetched = c.found.map((f) => Number(/, (\d+) of/.exec(f.what)?.[1]))
  t.ok(fetched.some((n, i) => n > size[i] / 2 || n > size[1 - i] / 2), `reading the big file shows in the bytes fetched (${fetched.join(', ')})`)

  const broken = /^(corrupt-blob|image|missing-layer|incomplete-layer|layer-differs|orphan-blob|orphan-layer|orphan-lazy)$/
  for (const point of ['fill-assembled', 'fill-adopted', 'fill-installed']) {
    t.equal(await killedAt(root, point, ['image', 'save', '-o', path.join(dir, 'x.tar'), ref]), 'SIGKILL', `save killed at ${point}`)
    c = await check(root)
    t.same(c.found.filter((f) => broken.test(f.kind)).map((f) => `${f.kind} ${f.what}`), [], `after a kill at ${point}: nothing corrupt, missing or orphaned`)
    t.ok(c.found.every((f) => f.kind === 'partial-layer' || f.kind === 'temp'), `only partial layers and temp names of the dead command (${c.found.map((f) => f.kind).join(', ')})`)
  }
  await b.run('image', 'save', '-o', path.join(dir, 'x.tar'), ref)
  c = await check(root, '--deep')
  t.same(c.found, [], 'after a save completed the layers: consistent, no notice, layer dirs equal their blobs (--deep)')
  for (const h of hexes(path.join(root, 'lazy'))) t.same(fs.readdirSync(path.join(root, 'lazy', h)).sort(), ['source.json', 'toc.json', 'tree'], 'no kept bytes left in the lazy dir')
})

t.test('GC removes the lazy dirs of images gone; check repairs an orphan lazy dir', async (t) => {
  const { dir, ref } = await setup(t)
  const root = path.join(dir, 'store-lazy')
  const b = cli(root, { STRATA_LAZY_FILL: '0' })
  await b.run('image', 'pull', '--lazy', ref)
  const lazy = hexes(path.join(root, 'lazy'))
  t.equal(lazy.length, 2)
  await exec('cp', ['-a', path.join(root, 'lazy', lazy[0]), path.join(root, 'lazy', 'f'.repeat(64))])
  let c = await check(root)
  t.same(c.found.filter((f) => !f.notice).map((f) => [f.kind, f.name]), [['orphan-lazy', `sha256:${'f'.repeat(64)}`]], 'a lazy dir no image names is an orphan')
  t.equal(c.code, 1, 'a problem: exit 1')
  c = await check(root, '--repair')
  t.equal(c.code, 0, 'repaired')
  t.same(hexes(path.join(root, 'lazy')).sort(), [...lazy].sort(), 'the orphan is gone, the image\'s lazy dirs stay')

  // A container pins the image's lazy layers; once it and the image go, GC takes them.
  await b.run('container', 'create', '--name', 'pin', ref)
  await b.run('image', 'rm', '-f', ref)
  t.equal(hexes(path.join(root, 'lazy')).length, 2, 'kept while a container uses the image')
  t.equal(await b.run('start', '-a', 'pin'), 'changed in layer 2\n', 'and the container still runs from them')
  await b.run('container', 'rm', 'pin')
  await b.run('system', 'prune', '-f')
  t.same(hexes(path.join(root, 'lazy')), [], 'removed once nothing uses them')
  c = await check(root)
  t.same(c.found, [], 'and the store is consistent')
})
