// strata system check: finds a tampered blob, a missing layer dir and a
// corrupt index; --repair re-extracts layers and rebuilds the index.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')

t.test('check and repair', async (t) => {
  const dir = t.testdir({ rootfs: { etc: { a: 'a' } } })
  const env = { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` }
  const run = (...args: string[]): { out: string, code: number | null } => {
    const r = spawnSync(strata, args, { env, encoding: 'utf8' })
    return { out: r.stdout + r.stderr, code: r.status }
  }
  execFileSync(strata, ['image', 'import', `${dir}/rootfs`, 'x:1'], { env })
  t.same(run('system', 'check'), { out: 'store is consistent\n', code: 0 })
  const layer = fs.readdirSync(`${dir}/store/layers`)[0]
  fs.rmSync(`${dir}/store/layers/${layer}`, { recursive: true })
  let r = run('system', 'check')
  t.equal(r.code, 1)
  t.match(r.out, `layer dir for sha256:${layer} is missing`)
  r = run('system', 'check', '--repair')
  t.match(r.out, `repaired missing-layer sha256:${layer}: image x:1: layer dir for sha256:${layer} is missing`)
  t.equal(fs.readFileSync(`${dir}/store/layers/${layer}/etc/a`, 'utf8'), 'a', 'the layer is back')
  fs.writeFileSync(`${dir}/store/oci/index.json`, 'garbage')
  r = run('system', 'check', '--repair')
  t.match(r.out, /index\.json rebuilt with 1 image/)
  t.match(run('image', 'ls').out, /<none>\s+<none>/, 'the image is back, without its name')
  const blobs = `${dir}/store/oci/blobs/sha256`
  const victim = fs.readdirSync(blobs).find((b) => fs.statSync(`${blobs}/${b}`).size > 200)!
  fs.appendFileSync(`${blobs}/${victim}`, 'tamper')
  r = run('system', 'check')
  t.equal(r.code, 1)
  t.match(r.out, `blob sha256:${victim} does not match its digest`)
})
