// Unit tests of the registry client's own logic, against a tiny HTTP server
// on 127.0.0.1 that plays the registry and its token server: challenge
// parsing, the bearer and basic flows, token sharing and renewal, retries
// with backoff, and the errors a user sees. (The end-to-end proof against
// the real Distribution registry is push-pull.ts and faults.ts.)
import t, { type Test } from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseChallenge } from '../../src/registry/auth-challenge.js'
import { RegistryClient } from '../../src/registry/registry-client.js'

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void

interface Fake { host: string, seen: Array<{ url: string, auth?: string }> }

async function fake (t: Test, handler: Handler): Promise<Fake> {
  const seen: Fake['seen'] = []
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization })
    handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve() }) }))
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const reply = (res: http.ServerResponse, status: number, headers: Record<string, string> = {}, body = ''): void => {
  res.writeHead(status, headers)
  res.end(body)
}

t.test('parseChallenge reads RFC 7235 parameters', async (t) => {
  t.same(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
  })
  t.same(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } })
  t.same(parseChallenge('Bearer realm="x\\"y", Service=plain'), { scheme: 'bearer', params: { realm: 'x"y', service: 'plain' } }, 'escapes and unquoted values; names case-insensitive')
  t.equal(parseChallenge(null), null)
  t.equal(parseChallenge('  '), null)
})

t.test('bearer flow: one token request for requests made at once, renewed on a new scope', async (t) => {
  let tokenRequests = 0
  const f = await fake(t, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/token') {
      tokenRequests++
      const scopes = url.searchParams.getAll('scope').join(' ')
      reply(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ token: `tok[${scopes}]` }))
      return
    }
    const challenge = `Bearer realm="http://${req.headers.host}/token",service="fake"`
    if (url.pathname === '/v2/') { reply(res, 401, { 'www-authenticate': challenge }); return }
    if (url.pathname === '/v2/other/manifests/1' && req.headers.authorization !== 'Bearer tok[repository:a:pull repository:other:pull]') {
      reply(res, 401, { 'www-authenticate': `${challenge},scope="repository:other:pull"` })
      return
    }
    reply(res, 200, {}, req.headers.authorization ?? 'none')
  })
  const c = new RegistryClient(f.host, { backoffMs: 1 })
  const answers = await Promise.all([1, 2, 3].map(async () => (await c.request('GET', '/v2/a/manifests/1', { scopes: ['repository:a:pull'] })).text()))
  t.same(answers, Array(3).fill('Bearer tok[repository:a:pull]'))
  t.equal(tokenRequests, 1, 'concurrent requests shared one token request')
  const res = await c.request('GET', '/v2/other/manifests/1', { scopes: ['repository:a:pull'] })
  t.equal(res.status, 200, 'a 401 naming another scope is answered with a new token')
  t.equal(await res.text(), 'Bearer tok[repository:a:pull repository:other:pull]')
  t.equal(tokenRequests, 2)
})

t.test('basic auth sends the credentials; a refusing token server is EACCES with a login hint', async (t) => {
  const f = await fake(t, (req, res) => {
    if (req.url === '/v2/') { reply(res, 401, { 'www-authenticate': 'Basic realm="r"' }); return }
    reply(res, req.headers.authorization === 'Basic ' + Buffer.from('alice:pw').toString('base64') ? 200 : 401)
  })
  const ok = await new RegistryClient(f.host, { credentials: { username: 'alice', password: 'pw' } }).request('GET', '/v2/x/tags/list')
  t.equal(ok.status, 200)
  await ok.body?.cancel()

  const g = await fake(t, (req, res) => {
    if (req.url?.startsWith('/token')) { reply(res, 401, {}, '{"errors":[{"code":"UNAUTHORIZED","message":"bad creds"}]}'); return }
    reply(res, 401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token"` })
  })
  await t.rejects(new RegistryClient(g.host, { credentials: { username: 'a', password: 'b' } }).request('GET', '/v2/x/tags/list'),
    { code: 'EACCES', message: /refused the credentials.*UNAUTHORIZED: bad creds.*strata login/ })
})

t.test('5xx and 429 are retried with backoff; the last answer comes back when tries run out', async (t) => {
  let n = 0
  const f = await fake(t, (req, res) => {
    if (req.url === '/v2/') { reply(res, 200); return }
    n++
    if (req.url === '/v2/flaky' && n <= 2) { reply(res, n === 1 ? 503 : 429); return }
    if (req.url === '/v2/down') { reply(res, 500); return }
    reply(res, 200, {}, 'fine')
  })
  const c = new RegistryClient(f.host, { backoffMs: 1, attempts: 4 })
  const res = await c.request('GET', '/v2/flaky')
  t.equal(await res.text(), 'fine')
  t.equal(f.seen.filter((s) => s.url === '/v2/flaky').length, 3, 'two failures, then success')
  const down = await c.request('GET', '/v2/down')
  t.equal(down.status, 500)
  await down.body?.cancel()
  t.equal(f.seen.filter((s) => s.url === '/v2/down').length, 4, 'tried `attempts` times')
  const once = await c.request('GET', '/v2/down', { attempts: 1 })
  t.equal(once.status, 500)
  await once.body?.cancel()
  t.equal(f.seen.filter((s) => s.url === '/v2/down').length, 5, 'a caller resuming by itself asks once')
})

t.test('a body factory is called again for each try', async (t) => {
  let puts = 0
  const bodies: string[] = []
  const f = await fake(t, (req, res) => {
    if (req.url === '/v2/') { reply(res, 200); return }
    let body = ''
    req.on('data', (d: Buffer) => { body += d.toString() })
    req.on('end', () => { bodies.push(body); reply(res, ++puts === 1 ? 502 : 201) })
  })
  const { Readable } = await import('node:stream')
  let made = 0
  const res = await new RegistryClient(f.host, { backoffMs: 1 }).request('PUT', '/v2/x/blobs/uploads/1', { body: () => { made++; return Readable.from([Buffer.from('payload')]) } })
  t.equal(res.status, 201)
  t.equal(made, 2)
  t.same(bodies, ['payload', 'payload'])
})

t.test('errors a user sees name the registry and what went wrong', async (t) => {
  const notRegistry = await fake(t, (_req, res) => { reply(res, 404) })
  await t.rejects(new RegistryClient(notRegistry.host, { backoffMs: 1 }).connect(), { code: 'EPROTO', message: /not an OCI distribution registry/ })

  const closed = await fake(t, (_req, res) => { reply(res, 200) })
  const port = closed.host.split(':')[1]
  await t.rejects(new RegistryClient(`127.0.0.2:${port}`, { backoffMs: 1, attempts: 2 }).connect(), { code: 'ECONNREFUSED', message: /cannot reach registry 127\.0\.0\.2/ })
  await t.rejects(new RegistryClient('registry.invalid:5000', { backoffMs: 1, attempts: 1 }).connect(), { message: /marked insecure|cannot reach/ })

  const c = new RegistryClient(closed.host)
  t.throws(() => c.url('/v2/'), { code: 'EINVAL' }, 'url() needs connect()')
  await c.connect()
  t.equal(c.url('/v2/a'), `http://${closed.host}/v2/a`, 'a loopback registry falls back to plain HTTP')
  const failure = await c.failure(new Response('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', { status: 404 }), 'pull a:1')
  t.equal(failure.code, 'ENOENT')
  t.match(failure.message, /pull a:1: .* answered 404 \(MANIFEST_UNKNOWN: manifest unknown\)/)
})
