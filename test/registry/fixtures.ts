// Self-test of the registry fixtures: the real Distribution registry in its
// three auth modes (none, htpasswd, token with the in-process token server),
// skopeo pushing to it, the registry behaviours the client relies on
// (cross-repository mount, Range), and every fault of the fault proxy.
// Nothing here may block the event loop (no execFileSync): the token server
// and the proxy run in this process.
import t from 'tap'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { makeTinyImage, skopeoInspectRaw, skopeoPush, startRegistry, SERVICE, ISSUER, type Registry } from '../fixtures/registry.js'
import { startFaultProxy, UPLOAD_PATH } from '../fixtures/fault-proxy.js'

const exec = promisify(execFile)
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`
const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true } catch { return false }
}
const basic = (reg: Registry): string => `Basic ${Buffer.from(reg.creds).toString('base64')}`
const jwtPart = (jwt: string, i: number): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[i], 'base64url').toString())
const getToken = async (reg: Registry, scopes: string[], auth?: string): Promise<Response> => {
  const u = new URL(reg.realm!)
  u.searchParams.set('service', SERVICE)
  for (const s of scopes) u.searchParams.append('scope', s)
  return fetch(u, { headers: auth ? { authorization: auth } : {} })
}

const pids: number[] = []
const dirs: string[] = []

t.test('auth none: /v2/ is 200, skopeo pushes, stop() kills the registry and removes its dir', async t => {
  const reg = await startRegistry(t)
  pids.push(reg.pid)
  dirs.push(reg.storage)
  dirs.push(reg.storage)
  t.match(reg.host, /^127\.0\.0\.1:\d+$/)
  t.equal(reg.url, `http://${reg.host}`)
  const r = await fetch(`${reg.url}/v2/`)
  t.equal(r.status, 200)
  t.same(await r.json(), {})
  const img = makeTinyImage(t.testdir(), 'v1')
  await skopeoPush(reg, img, 'test:1')
  t.equal(sha256(Buffer.from(await skopeoInspectRaw(reg, 'test:1'))), img.manifestDigest, 'the manifest as pushed')
  t.ok(alive(reg.pid))
  await reg.stop()
  t.notOk(alive(reg.pid), 'the registry is gone')
  t.notOk(existsSync(reg.storage), 'its temp dir is gone')
  await reg.stop()
  t.pass('stop() again is fine')
})

t.test('auth htpasswd: Basic challenge, bcrypt credentials, skopeo push and inspect', async t => {
  const reg = await startRegistry(t, { auth: 'htpasswd', user: 'alice', password: 'pa:ss word' })
  pids.push(reg.pid)
  dirs.push(reg.storage)
  const r = await fetch(`${reg.url}/v2/`)
  t.equal(r.status, 401)
  t.equal(r.headers.get('www-authenticate'), 'Basic realm="strata-test"')
  const bad = await fetch(`${reg.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` } })
  t.equal(bad.status, 401, 'wrong password')
  t.equal((await fetch(`${reg.url}/v2/`, { headers: { authorization: basic(reg) } })).status, 200, 'right password')
  const { stdout } = await exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', reg.creds, `${reg.url}/v2/`])
  t.equal(stdout, '200', 'curl -u too')

  const img = makeTinyImage(t.testdir(), 'v1')
  await skopeoPush(reg, img, 'private/test:1')
  const inspect = JSON.parse((await exec('skopeo', ['inspect', '--tls-verify=false', '--creds', reg.creds, `docker://${reg.host}/private/test:1`])).stdout)
  t.equal(inspect.Digest, img.manifestDigest, 'skopeo inspect sees the pushed manifest')
  await t.rejects(exec('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/private/test:1`]), 'no creds: refused')
  const blob = await fetch(`${reg.url}/v2/private/test/blobs/${img.layerDigest}`, { headers: { authorization: basic(reg) } })
  t.equal(sha256(new Uint8Array(await blob.arrayBuffer())), img.layerDigest, 'the layer blob, unchanged')
})

t.test('auth token: Bearer challenge, token server, skopeo push, cross-repository mount', async t => {
  const reg = await startRegistry(t, { auth: 'token' })
  pids.push(reg.pid)
  dirs.push(reg.storage)
  const r = await fetch(`${reg.url}/v2/`)
  t.equal(r.status, 401)
  t.equal(r.headers.get('www-authenticate'), `Bearer realm="${reg.realm}",service="${SERVICE}"`)
  t.match(reg.realm, /^http:\/\/127\.0\.0\.1:\d+\/token$/)

  const before = reg.tokenRequests
  const tr = await getToken(reg, [], basic(reg))
  t.equal(tr.status, 200)
  const body = await tr.json() as { token: string; access_token: string; expires_in: number; issued_at: string }
  t.equal(body.access_token, body.token)
  t.equal(body.expires_in, 300)
  t.ok(Date.parse(body.issued_at) > 0)
  t.equal(reg.tokenRequests, before + 1, 'counted')
  const header = jwtPart(body.token, 0)
  t.equal(header.alg, 'RS256')
  t.ok(Array.isArray(header.x5c) && (header.x5c as string[]).length === 1, 'x5c carries the certificate')
  const claims = jwtPart(body.token, 1)
  t.match(claims, { iss: ISSUER, sub: reg.user, aud: SERVICE, access: [] })
  t.ok(typeof claims.jti === 'string' && (claims.exp as number) > (claims.iat as number))
  t.equal((await fetch(`${reg.url}/v2/`, { headers: { authorization: `Bearer ${body.token}` } })).status, 200, 'the token opens /v2/')
  t.equal((await getToken(reg, [], `Basic ${Buffer.from(`${reg.user}:wrong`).toString('base64')}`)).status, 401, 'wrong creds: 401 from the token server')
  t.equal(reg.tokenLog.at(-1)?.status, 401)

  const img = makeTinyImage(t.testdir(), 'v1')
  const n = reg.tokenRequests
  await skopeoPush(reg, img, 'src/img:1')
  t.ok(reg.tokenRequests > n, 'skopeo went through the token server')
  t.ok(reg.tokenLog.some(e => e.user === reg.user && e.scopes.includes('repository:src/img:pull,push') && e.status === 200 &&
    e.access.some(a => a.name === 'src/img' && a.actions.includes('push'))), 'push scope granted to the user')
  t.equal(sha256(Buffer.from(await skopeoInspectRaw(reg, 'src/img:1'))), img.manifestDigest)

  // a repository-scoped request: the challenge names the scope
  const m = await fetch(`${reg.url}/v2/src/img/manifests/1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
  t.equal(m.status, 401)
  t.equal(m.headers.get('www-authenticate'), `Bearer realm="${reg.realm}",service="${SERVICE}",scope="repository:src/img:pull"`)
  const anon = await (await getToken(reg, ['repository:src/img:pull'])).json() as { token: string }
  t.same(jwtPart(anon.token, 1).access, [{ type: 'repository', name: 'src/img', actions: [] }], 'anonymous: nothing granted')
  const denied = await fetch(`${reg.url}/v2/src/img/manifests/1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json', authorization: `Bearer ${anon.token}` } })
  t.equal(denied.status, 401)
  t.match(denied.headers.get('www-authenticate'), /error="insufficient_scope"/)
  const pull = await (await getToken(reg, ['repository:src/img:pull'], basic(reg))).json() as { token: string }
  const ok = await fetch(`${reg.url}/v2/src/img/manifests/1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json', authorization: `Bearer ${pull.token}` } })
  t.equal(ok.status, 200)
  t.equal(ok.headers.get('docker-content-digest'), img.manifestDigest)

  // cross-repository mount: the challenge asks for both repositories (one
  // scope parameter, space separated); a token without pull on the source
  // is refused (401 insufficient_scope, not a fallback to an upload)
  const mountUrl = `${reg.url}/v2/dst/blobs/uploads/?mount=${img.layerDigest}&from=src/img`
  const c = await fetch(mountUrl, { method: 'POST' })
  // (the registry builds the scopes from Go maps: both the order of the two
  // scopes and of the actions inside one vary from request to request)
  const scope = /,scope="([^"]*)"/.exec(c.headers.get('www-authenticate') ?? '')?.[1]
  const sortedActions = (s: string) => s.replace(/[^:]+$/, a => a.split(',').sort().join(','))
  t.same(scope?.split(' ').map(sortedActions).sort(), ['repository:dst:pull,push', 'repository:src/img:pull'])
  const only = await (await getToken(reg, ['repository:dst:pull,push'], basic(reg))).json() as { token: string }
  const refused = await fetch(mountUrl, { method: 'POST', headers: { authorization: `Bearer ${only.token}` } })
  t.equal(refused.status, 401)
  t.match(refused.headers.get('www-authenticate'), /error="insufficient_scope"/)
  const both = await (await getToken(reg, ['repository:dst:pull,push', 'repository:src/img:pull'], basic(reg))).json() as { token: string }
  const mounted = await fetch(mountUrl, { method: 'POST', headers: { authorization: `Bearer ${both.token}` } })
  t.equal(mounted.status, 201, 'mounted')
  t.equal(mounted.headers.get('location'), `${reg.url}/v2/dst/blobs/${img.layerDigest}`)
  t.equal(mounted.headers.get('docker-content-digest'), img.layerDigest)
})

t.test('registry behaviours: mount fallback, Range, OCI manifests need Accept', async t => {
  const reg = await startRegistry(t)
  pids.push(reg.pid)
  dirs.push(reg.storage)
  const img = makeTinyImage(t.testdir(), 'v1')
  await skopeoPush(reg, img, 'a:1')
  const missing = await fetch(`${reg.url}/v2/b/blobs/uploads/?mount=sha256:${'0'.repeat(64)}&from=a`, { method: 'POST' })
  t.equal(missing.status, 202, 'mount of a blob the source lacks: an ordinary upload session')
  t.match(missing.headers.get('location'), `${reg.url}/v2/b/blobs/uploads/`)
  t.equal(missing.headers.get('range'), '0-0')
  const range = await fetch(`${reg.url}/v2/a/blobs/${img.layerDigest}`, { headers: { range: 'bytes=100-199' } })
  t.equal(range.status, 206)
  t.equal(range.headers.get('content-range'), `bytes 100-199/${img.layer.length}`)
  t.same(Buffer.from(await range.arrayBuffer()), img.layer.subarray(100, 200))
  const beyond = await fetch(`${reg.url}/v2/a/blobs/${img.layerDigest}`, { headers: { range: `bytes=${img.layer.length}-` } })
  t.equal(beyond.status, 416)
  t.equal(beyond.headers.get('content-range'), `bytes */${img.layer.length}`)
  await beyond.arrayBuffer().catch(() => undefined)
  const noAccept = await fetch(`${reg.url}/v2/a/manifests/1`)
  t.equal(noAccept.status, 404, 'an OCI manifest without an Accept for it: 404 MANIFEST_UNKNOWN')
  t.match(await noAccept.text(), /OCI manifest found, but accept header does not support OCI manifests/)
})

t.test('fault proxy: pass-through, drop, 500, corrupt, stall, delay, uploads', async t => {
  const reg = await startRegistry(t, { auth: 'htpasswd' })
  pids.push(reg.pid)
  dirs.push(reg.storage)
  const img = makeTinyImage(t.testdir(), 'v1')
  await skopeoPush(reg, img, 'test:1')
  const proxy = await startFaultProxy(t, reg.url)
  t.match(proxy.host, /^127\.0\.0\.1:\d+$/)
  const blobPath = `/v2/test/blobs/${img.layerDigest}`
  const blobUrl = `${proxy.url}${blobPath}`
  const auth = { authorization: basic(reg) }
  const get = async (headers: Record<string, string> = {}): Promise<Buffer> => {
    const r = await fetch(blobUrl, { headers: { ...auth, ...headers } })
    if (r.status >= 300) throw Object.assign(new Error(`status ${r.status}`), { status: r.status })
    return Buffer.from(await r.arrayBuffer())
  }

  t.test('pass-through', async t => {
    const r = await fetch(blobUrl)
    t.equal(r.status, 401, 'no Authorization: the registry says 401')
    t.equal(r.headers.get('www-authenticate'), 'Basic realm="strata-test"', 'its challenge passes')
    await r.arrayBuffer()
    const full = await fetch(blobUrl, { headers: auth })
    t.equal(full.headers.get('docker-content-digest'), img.layerDigest)
    t.equal(full.headers.get('content-length'), String(img.layer.length))
    t.same(Buffer.from(await full.arrayBuffer()), img.layer)
    const part = await fetch(blobUrl, { headers: { ...auth, range: 'bytes=1000-1999' } })
    t.equal(part.status, 206, 'Range passes')
    t.equal(part.headers.get('content-range'), `bytes 1000-1999/${img.layer.length}`)
    t.same(Buffer.from(await part.arrayBuffer()), img.layer.subarray(1000, 2000))
    t.match(proxy.requests.at(-1), { method: 'GET', path: blobPath, status: 206, bytes: 1000, done: true })
    t.ok(proxy.count(blobPath, 'GET') >= 3)
  })

  t.test('drop after N bytes, the first K times', async t => {
    const f = proxy.fault({ action: 'drop', afterBytes: 4096, times: 2 })
    const start = proxy.requests.length
    for (let i = 0; i < 2; i++) await t.rejects(get(), `attempt ${i + 1}: connection dropped`)
    t.same(await get(), img.layer, 'then the bytes are right')
    t.equal(f.hits, 2)
    t.match(proxy.requests.slice(start), [
      { status: 200, fault: 'drop', bytes: 4096, done: false },
      { status: 200, fault: 'drop', bytes: 4096, done: false },
      { status: 200, fault: undefined, bytes: img.layer.length, done: true },
    ])
    const z = proxy.fault({ action: 'drop', afterBytes: 0, times: 1 })
    await t.rejects(get(), 'dropped right after the headers')
    t.equal(z.hits, 1)
    t.same(await get(), img.layer)
  })

  t.test('500 the first K times', async t => {
    const f = proxy.fault({ action: 'status', status: 500, times: 2 })
    await t.rejects(get(), { message: 'status 500' })
    const r = await fetch(blobUrl, { headers: auth })
    t.equal(r.status, 500)
    t.match(await r.json(), { errors: [{ code: 'UNKNOWN' }] })
    t.same(await get(), img.layer)
    t.equal(f.hits, 2)
    const s = proxy.fault({ action: 'status', status: 503, times: 1, path: blobPath })
    await t.rejects(get(), { message: 'status 503' }, 'a string path, another status')
    t.equal(s.hits, 1)
  })

  t.test('corrupt one byte', async t => {
    const f = proxy.fault({ action: 'corrupt', offset: 50_000, times: 1 })
    const bad = await get()
    t.equal(bad.length, img.layer.length, 'same length')
    t.equal(bad[50_000], img.layer[50_000] ^ 0xff, 'the byte at the offset is flipped')
    t.equal(Buffer.compare(bad.subarray(0, 50_000), img.layer.subarray(0, 50_000)), 0)
    t.equal(Buffer.compare(bad.subarray(50_001), img.layer.subarray(50_001)), 0, 'only that byte')
    t.not(sha256(bad), img.layerDigest)
    t.same(await get(), img.layer, 'the next time it is right')
    t.equal(f.hits, 1)
    const always = proxy.fault({ action: 'corrupt', offset: 10 })
    for (let i = 0; i < 3; i++) t.not(sha256(await get()), img.layerDigest, `always (${i + 1})`)
    const part = await get({ range: 'bytes=100-199' })
    t.equal(part[10], img.layer[110] ^ 0xff, 'in a Range response the offset counts from the body start')
    t.equal(always.hits, 4)
    always.remove()
    t.same(await get(), img.layer, 'removed')
  })

  t.test('stall and delay', async t => {
    proxy.fault({ action: 'stall', afterBytes: 100, times: 1 })
    await t.rejects(fetch(blobUrl, { headers: auth, signal: AbortSignal.timeout(500) }).then(r => r.arrayBuffer()), 'the body never completes')
    t.match(proxy.requests.at(-1), { fault: 'stall', bytes: 100, done: false })
    proxy.fault({ action: 'delay', ms: 300, times: 1 })
    const t0 = Date.now()
    t.same(await get(), img.layer)
    t.ok(Date.now() - t0 >= 290, 'delayed')
  })

  t.test('uploads through the proxy', async t => {
    proxy.clear()
    const post = await fetch(`${proxy.url}/v2/up/blobs/uploads/`, { method: 'POST', headers: auth })
    t.equal(post.status, 202)
    const loc = post.headers.get('location')!
    t.ok(loc.startsWith(`${proxy.url}/v2/up/blobs/uploads/`), 'Location rewritten to the proxy')
    const chunk1 = img.layer.subarray(0, 60_000)
    const chunk2 = img.layer.subarray(60_000)
    const p1 = await fetch(loc, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/octet-stream', 'content-range': `0-${chunk1.length - 1}` }, body: new Uint8Array(chunk1) })
    t.equal(p1.status, 202)
    t.equal(p1.headers.get('range'), `0-${chunk1.length - 1}`)
    const loc2 = p1.headers.get('location')!
    t.ok(loc2.startsWith(proxy.url))
    const put = await fetch(`${loc2}&digest=${img.layerDigest}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: new Uint8Array(chunk2) })
    t.equal(put.status, 201)
    t.equal(put.headers.get('location'), `${proxy.url}/v2/up/blobs/${img.layerDigest}`)
    t.equal(put.headers.get('docker-content-digest'), img.layerDigest)

    // a corrupted request body: the registry refuses the digest
    proxy.fault({ method: 'PUT', path: UPLOAD_PATH, action: 'corrupt', offset: 7, direction: 'request', times: 1 })
    const post2 = await fetch(`${proxy.url}/v2/up2/blobs/uploads/`, { method: 'POST', headers: auth })
    const put2 = await fetch(`${post2.headers.get('location')}&digest=${img.layerDigest}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: new Uint8Array(img.layer) })
    t.equal(put2.status, 400)
    t.match(await put2.json(), { errors: [{ code: 'DIGEST_INVALID' }] })

    // a 500 on the first PATCH, a dropped request body on the second
    const f500 = proxy.fault({ method: 'PATCH', path: UPLOAD_PATH, action: 'status', status: 500, times: 1 })
    const fdrop = proxy.fault({ method: 'PATCH', path: UPLOAD_PATH, action: 'drop', afterBytes: 1000, direction: 'request', times: 1 })
    const post3 = await fetch(`${proxy.url}/v2/up3/blobs/uploads/`, { method: 'POST', headers: auth })
    const loc3 = post3.headers.get('location')!
    const patch = (): Promise<Response> => fetch(loc3, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: new Uint8Array(img.layer) })
    t.equal((await patch()).status, 500)
    await t.rejects(patch(), 'request body cut')
    t.equal(f500.hits + fdrop.hits, 2)

    // skopeo pushes through the proxy (Authorization, redirects to the proxy, bodies)
    const n = proxy.count(UPLOAD_PATH)
    await exec('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', reg.creds,
      `oci:${img.layout}:v1`, `docker://${proxy.host}/via-proxy:1`])
    t.ok(proxy.count(UPLOAD_PATH) > n, 'uploads went through the proxy')
    const inspect = JSON.parse((await exec('skopeo', ['inspect', '--tls-verify=false', '--creds', reg.creds, `docker://${reg.host}/via-proxy:1`])).stdout)
    t.equal(inspect.Digest, img.manifestDigest, 'and landed in the registry')
  })
})

t.test('a registry that does not come up in time: the start fails, saying so', async t => {
  await t.rejects(startRegistry(t, { readyTimeout: 0 }), /docker-registry did not come up on 127\.0\.0\.1:\d+ within 0 ms .*stderr:/s)
})

t.test('no registry process and no temp dir is left', async t => {
  t.ok(pids.length >= 5)
  for (const pid of pids) t.notOk(alive(pid), `registry ${pid} is gone`)
  for (const d of dirs) t.notOk(existsSync(d))
})
