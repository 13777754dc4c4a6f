// Pulls and pushes through a proxy that injects faults between strata and
// the real registry: a connection dropped mid-blob (the download resumes
// with a Range request), 500s (retried with backoff), a corrupted byte (once:
// downloaded again; always: refused with the store unchanged), and uploads
// cut mid-body (the push starts the blob over or resumes its session).
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startRegistry, makeTinyImage, type Registry } from '../fixtures/registry.js'
import { startFaultProxy, UPLOAD_PATH } from '../fixtures/fault-proxy.js'
import { strataAsync, type Result } from '../fixtures/strata-async.js'

const exec = promisify(execFile)
type T = Test

function strata (root: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Result> {
  return strataAsync(args, { ...process.env, STRATA_ROOT: root, STRATA_REGISTRY_BACKOFF_MS: '20', ...extraEnv })
}

/** Every file of a store with its size, and index.json: what "unchanged" means. */
function storeState (root: string): string {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) { out.push(path.relative(root, p) + '/'); walk(p) } else out.push(`${path.relative(root, p)} ${fs.lstatSync(p).size}`)
    }
  }
  walk(root)
  return out.sort().join('\n') + '\n' + fs.readFileSync(path.join(root, 'oci', 'index.json'), 'utf8')
}

/** A registry holding tiny:1, an image with a 1 MiB incompressible layer, and a proxy in front. */
async function world (t: T, reg?: Registry) {
  reg ??= await startRegistry(t)
  const dir = t.testdir({})
  const tiny = makeTinyImage(path.join(dir, 'layout'), 'v1', { 'noise.bin': crypto.randomBytes(1 << 20), 'hello.txt': 'hi\n' })
  await exec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${tiny.layout}:v1`, `docker://${reg.host}/tiny:1`])
  const proxy = await startFaultProxy(t, reg.url)
  const root = path.join(dir, 'store')
  // Something in the store already, so that "unchanged" is not just "empty".
  fs.mkdirSync(path.join(dir, 'rootfs', 'etc'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'rootfs', 'etc', 'motd'), 'before\n')
  const imp = await strata(root, ['image', 'import', path.join(dir, 'rootfs'), 'before:1'])
  if (imp.code !== 0) throw new Error(imp.stderr)
  return { reg, dir, tiny, proxy, root, ref: `${proxy.host}/tiny:1` }
}

const blobGets = (proxy: { requests: Array<{ method: string, path: string }> }, digest: string): number =>
  proxy.requests.filter((r) => r.method === 'GET' && r.path === `/v2/tiny/blobs/${digest}`).length

t.test('a connection dropped mid-blob: the download resumes where it broke', async (t) => {
  const { reg, tiny, proxy, root, ref } = await world(t)
  const f = proxy.fault({ action: 'drop', afterBytes: 300_000, path: `/v2/tiny/blobs/${tiny.layerDigest}`, times: 2 })
  const r = await strata(root, ['image', 'pull', ref])
  t.equal(r.code, 0, r.stderr)
  t.equal(f.hits, 2, 'the proxy cut the layer twice')
  t.equal(blobGets(proxy, tiny.layerDigest), 3, 'three GETs of the layer')
  t.match(reg.stderr(), new RegExp(`"GET /v2/tiny/blobs/${tiny.layerDigest} HTTP/1.1" 206 `), 'the registry answered a Range request (206)')
  t.equal(JSON.parse((await strata(root, ['image', 'inspect', ref])).stdout)[0].Id, tiny.configDigest)
  t.match((await strata(root, ['system', 'check'])).stdout, /consistent/)
})

t.test('a connection that stalls mid-blob is given up after a quiet spell and resumed', async (t) => {
  const { tiny, proxy, root, ref } = await world(t)
  const f = proxy.fault({ action: 'stall', afterBytes: 100_000, path: `/v2/tiny/blobs/${tiny.layerDigest}`, times: 1 })
  const r = await strata(root, ['image', 'pull', ref], { STRATA_REGISTRY_IDLE_MS: '1000' })
  t.equal(r.code, 0, r.stderr)
  t.equal(f.hits, 1)
  t.equal(blobGets(proxy, tiny.layerDigest), 2, 'one more GET, for the rest')
  t.equal(JSON.parse((await strata(root, ['image', 'inspect', ref])).stdout)[0].Id, tiny.configDigest)
})

t.test('500s are retried with backoff; too many fail cleanly', async (t) => {
  const { tiny, proxy, root, ref } = await world(t)
  const f = proxy.fault({ action: 'status', status: 500, path: `/v2/tiny/blobs/${tiny.layerDigest}`, times: 2 })
  const r = await strata(root, ['image', 'pull', ref])
  t.equal(r.code, 0, r.stderr)
  t.equal(f.hits, 2)
  t.equal(blobGets(proxy, tiny.layerDigest), 3)

  const before = storeState(root)
  proxy.fault({ action: 'status', status: 503, method: '*', path: /^\/v2\/tiny\/manifests\//, times: 100 })
  const down = await strata(root, ['image', 'pull', `${proxy.host}/tiny:1`], { STRATA_REGISTRY_ATTEMPTS: '3' })
  t.not(down.code, 0)
  t.match(down.stderr, /EIO: GET manifest .*tiny:1: .* answered 503/)
  t.equal(storeState(root), before, 'the store is as it was')
})

t.test('a corrupted byte: downloaded again once; corrupt every time, refused with nothing stored', async (t) => {
  const { tiny, proxy, root, ref } = await world(t)
  const before = storeState(root)
  const always = proxy.fault({ action: 'corrupt', offset: 12345, path: `/v2/tiny/blobs/${tiny.layerDigest}` })
  const bad = await strata(root, ['image', 'pull', ref])
  t.not(bad.code, 0)
  t.match(bad.stderr, new RegExp(`EBADMSG: blob ${tiny.layerDigest} of .*tiny: digest mismatch`), 'the error names the blob')
  t.equal(always.hits, 2, 'tried twice')
  t.equal(storeState(root), before, 'nothing stored, nothing left in tmp')
  always.remove()

  const once = proxy.fault({ action: 'corrupt', offset: 777, path: `/v2/tiny/blobs/${tiny.layerDigest}`, times: 1 })
  const r = await strata(root, ['image', 'pull', ref])
  t.equal(r.code, 0, r.stderr)
  t.equal(once.hits, 1)
  t.match(r.stdout, 'Retrying (digest mismatch)')
  const check = await strata(root, ['system', 'check'])
  t.match(check.stdout, /consistent/)
  const mnt = path.join(root, '..', 'mnt')
  fs.mkdirSync(mnt)
  t.equal((await strata(root, ['mount', ref, mnt])).code, 0)
  t.teardown(() => strata(root, ['umount', mnt]))
  const noise = await fs.promises.readFile(path.join(mnt, 'noise.bin'))
  t.equal(noise.length, 1 << 20, 'the layer is whole')
  t.equal(await fs.promises.readFile(path.join(mnt, 'hello.txt'), 'utf8'), 'hi\n')
  t.equal((await strata(root, ['umount', mnt])).code, 0)
})

t.test('a layer whose content is not the DiffID its config names is refused, the store unchanged', async (t) => {
  const { reg, tiny, root, proxy } = await world(t)
  // The same layer blob (its digest right), under a config that lies about its content.
  const sha = (b: Buffer): string => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex')
  const config = Buffer.from(JSON.stringify({ ...JSON.parse(tiny.config.toString()), rootfs: { type: 'layers', diff_ids: [sha(Buffer.from('something else'))] } }))
  const manifest = Buffer.from(JSON.stringify({ ...JSON.parse(tiny.manifest.toString()), config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length } }))
  for (const b of [config, manifest]) fs.writeFileSync(path.join(tiny.layout, 'blobs', 'sha256', sha(b).slice(7)), b)
  const index = JSON.parse(fs.readFileSync(path.join(tiny.layout, 'index.json'), 'utf8'))
  index.manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'liar' } })
  fs.writeFileSync(path.join(tiny.layout, 'index.json'), JSON.stringify(index))
  await exec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${tiny.layout}:liar`, `docker://${reg.host}/liar:1`])
  const before = storeState(root)
  const r = await strata(root, ['image', 'pull', `${proxy.host}/liar:1`])
  t.not(r.code, 0)
  t.match(r.stderr, new RegExp(`EBADMSG: layer ${tiny.layerDigest} of .*liar:1: its content is ${tiny.diffId} but the config says`))
  t.equal(storeState(root), before, 'no layer dir, blob or name stored; nothing left in tmp')
})

t.test('a corrupted config is refused too', async (t) => {
  const { tiny, proxy, root, ref } = await world(t)
  const before = storeState(root)
  proxy.fault({ action: 'corrupt', offset: 3, path: `/v2/tiny/blobs/${tiny.configDigest}` })
  const r = await strata(root, ['image', 'pull', ref])
  t.match(r.stderr, new RegExp(`EBADMSG: blob ${tiny.configDigest} .* digest mismatch`))
  t.equal(storeState(root), before)
})

t.test('uploads cut mid-body: monolithic restarts, chunked resumes or restarts; the registry gets the right blob', async (t) => {
  const { tiny, proxy, root, dir } = await world(t)
  // An image of our own with a big layer, pushed through the proxy.
  const pulled = await strata(root, ['image', 'pull', `${proxy.host}/tiny:1`])
  t.equal(pulled.code, 0, pulled.stderr)
  proxy.clear()
  // Forget where the blobs came from, so the pushes upload instead of mounting.
  const forget = (): void => { fs.rmSync(path.join(root, 'registry-sources.json'), { force: true }) }
  forget()
  await strata(root, ['image', 'tag', `${proxy.host}/tiny:1`, `${proxy.host}/mono:1`])
  const put = proxy.fault({ action: 'drop', afterBytes: 200_000, direction: 'request', method: 'PUT', path: UPLOAD_PATH, times: 1 })
  const mono = await strata(root, ['image', 'push', `${proxy.host}/mono:1`])
  t.equal(mono.code, 0, mono.stderr)
  t.equal(put.hits, 1, 'the first PUT was cut')

  forget()
  await strata(root, ['image', 'tag', `${proxy.host}/tiny:1`, `${proxy.host}/chunky:1`])
  const patch = proxy.fault({ action: 'drop', afterBytes: 100_000, direction: 'request', method: 'PATCH', path: UPLOAD_PATH, times: 2 })
  const chunky = await strata(root, ['image', 'push', `${proxy.host}/chunky:1`], { STRATA_PUSH_CHUNK_SIZE: String(256 << 10) })
  t.equal(chunky.code, 0, chunky.stderr)
  t.equal(patch.hits, 2, 'two PATCHes were cut')
  t.ok(proxy.requests.filter((r) => r.method === 'PATCH').length >= 5, 'the blob went in chunks')

  // What the registry holds is the image, byte for byte: skopeo copies and
  // checks every digest.
  for (const repo of ['mono', 'chunky']) {
    await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://${proxy.host}/${repo}:1`, `oci:${dir}/check-${repo}:x`])
    const inspect = JSON.parse((await exec('skopeo', ['inspect', `oci:${dir}/check-${repo}:x`])).stdout)
    t.same(inspect.Layers, [tiny.layerDigest], `${repo}: the layer arrived whole`)
  }
})
