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

t.test('a layer dir without its completion mark is never reused (a half-removed layer of a crash)', async (t) => {
  const dir = t.testdir({ rootfs: { bin: { sh: 'shell' }, etc: { a: 'a', b: 'b', c: 'c' } } })
  const env = { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` }
  execFileSync(strata, ['image', 'import', `${dir}/rootfs`, 'a:1'], { env })
  const layer = fs.readdirSync(`${dir}/store/layers`).find((n) => /^[0-9a-f]{64}$/.test(n))!
  // What an in-place removal killed half-way left: no mark, files gone.
  fs.rmSync(`${dir}/store/layers/${layer}.size`)
  fs.rmSync(`${dir}/store/layers/${layer}/bin`, { recursive: true })
  const mount = spawnSync(strata, ['mount', 'a:1', `${dir}/mnt`], { env, encoding: 'utf8' })
  t.not(mount.status, 0, 'an image on an incomplete layer does not mount')
  t.match(mount.stderr, `layer sha256:${layer} is incomplete`)
  execFileSync(strata, ['image', 'import', `${dir}/rootfs`, 'b:1'], { env })
  t.equal(fs.readFileSync(`${dir}/store/layers/${layer}/bin/sh`, 'utf8'), 'shell', 'the import extracted the layer again')
  t.equal(spawnSync(strata, ['system', 'check', '--deep'], { env, encoding: 'utf8' }).stdout, 'store is consistent\n')
})

t.test('check sees broken containers, stray marks, stale pause files and changed layer dirs, and repairs them', async (t) => {
  const dir = t.testdir({ rootfs: { etc: { a: 'a' } }, run: { mounts: {} } })
  const env = { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` }
  const run = (...args: string[]): { out: string, code: number | null } => {
    const r = spawnSync(strata, args, { env, encoding: 'utf8' })
    return { out: r.stdout + r.stderr, code: r.status }
  }
  execFileSync(strata, ['image', 'import', `${dir}/rootfs`, 'x:1'], { env })
  const layer = fs.readdirSync(`${dir}/store/layers`).find((n) => /^[0-9a-f]{64}$/.test(n))!
  const gone = spawnSync('true').pid
  fs.mkdirSync(`${dir}/store/containers/${'ab'.repeat(32)}/upper`, { recursive: true })
  fs.writeFileSync(`${dir}/store/layers/${'cd'.repeat(32)}.size`, '10')
  fs.writeFileSync(`${dir}/run/mounts/%2Fmnt%2Fx.json.pause`, String(gone))
  fs.writeFileSync(`${dir}/run/mounts/%2Fmnt%2Fy.json.pause`, String(process.pid))
  fs.writeFileSync(`${dir}/store/layers/${layer}/etc/a`, 'changed')
  let r = run('system', 'check')
  t.equal(r.code, 1)
  t.match(r.out, `problem broken-container containers/${'ab'.repeat(32)}: container dir ${'ab'.repeat(32)} has no config.json`)
  t.match(r.out, `problem stray-mark layers/${'cd'.repeat(32)}.size`)
  t.match(r.out, /problem stale-pause \S+%2Fmnt%2Fx\.json\.pause: .*process \d+, which is gone/)
  t.notMatch(r.out, /%2Fmnt%2Fy/, 'a live requester\'s pause is not stale')
  t.notMatch(r.out, /layer-differs/, 'without --deep layer contents are not compared')
  t.match(r.out, /^3 problem\(s\) left$/m)
  r = run('system', 'check', '--deep')
  t.match(r.out, `problem layer-differs sha256:${layer}: image x:1: layer dir for sha256:${layer} differs from its blob at etc/a`)
  r = run('system', 'check', '--deep', '--repair')
  t.equal(r.code, 0)
  t.match(r.out, /store is consistent after repair/)
  t.equal(fs.readFileSync(`${dir}/store/layers/${layer}/etc/a`, 'utf8'), 'a', 'the layer is extracted again from its blob')
  t.notOk(fs.existsSync(`${dir}/run/mounts/%2Fmnt%2Fx.json.pause`))
  t.ok(fs.existsSync(`${dir}/run/mounts/%2Fmnt%2Fy.json.pause`))
  t.same(run('system', 'check', '--deep'), { out: 'store is consistent\n', code: 0 })
})
