// strata image push / pull against the real Distribution registry
// (docker-registry) on 127.0.0.1: round trips, skopeo and umoci reading what
// strata pushed and strata pulling what skopeo pushed (OCI, Docker schema 2,
// an image index), layers skipped and mounted across repositories, login with
// basic auth and with the bearer-token flow, and bad input.
//
// strata runs as a child process, always asynchronously: the token server
// lives in this process and must keep answering meanwhile.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import net from 'node:net'
import path from 'node:path'
import crypto from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startRegistry, makeTinyImage } from '../fixtures/registry.js'
import { strataAsync, strataBin, type Result } from '../fixtures/strata-async.js'

const exec = promisify(execFile)
type T = Test

function cli (root: string, extraEnv: Record<string, string> = {}) {
  const env = { ...process.env, STRATA_ROOT: root, STRATA_REGISTRY_BACKOFF_MS: '50', ...extraEnv }
  const call = (args: string[], input?: string): Promise<Result> => strataAsync(args, env, input)
  return {
    run: async (...args: string[]): Promise<string> => {
      const r = await call(args)
      if (r.code !== 0) throw new Error(`strata ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
      return r.stdout
    },
    fail: async (...args: string[]): Promise<Result> => {
      const r = await call(args)
      if (r.code === 0) throw new Error(`strata ${args.join(' ')} succeeded: ${r.stdout}`)
      return r
    },
    call,
  }
}

/** A store with greeter:1: a busybox rootfs plus a committed layer adding /greeting. */
async function greeterStore (t: T, dir: string) {
  const root = path.join(dir, 'store-a')
  const a = cli(root)
  const rootfs = path.join(dir, 'rootfs')
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true })
  fs.mkdirSync(path.join(rootfs, 'etc'))
  fs.writeFileSync(path.join(rootfs, 'etc', 'motd'), 'welcome\n')
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'))
  for (const x of ['sh', 'cat']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', x))
  await a.run('image', 'import', rootfs, 'base:1', '-c', 'CMD ["/bin/sh"]')
  await a.run('container', 'create', '--name', 'c', 'base:1')
  const mnt = path.join(dir, 'mnt')
  fs.mkdirSync(mnt)
  await a.run('mount', 'c', mnt)
  t.teardown(async () => { await cli(root).call(['umount', mnt]) })
  fs.writeFileSync(path.join(mnt, 'greeting'), 'hello from the registry\n')
  await a.run('umount', mnt)
  const id = (await a.run('commit', '-c', 'CMD ["/bin/cat","/greeting"]', 'c', 'greeter:1')).trim()
  await a.run('container', 'rm', 'c')
  return { a, root, id }
}

const layerLines = (out: string, status: string): string[] => out.split('\n').filter((l) => l.endsWith(`: ${status}`))

t.test('push, pull back, run; skopeo and umoci read what strata pushed; HEAD skips, cross-repository mounts', async (t) => {
  const reg = await startRegistry(t)
  const dir = t.testdir({})
  const { a, id } = await greeterStore(t, dir)
  const ref = `${reg.host}/greeter:1`
  await a.run('image', 'tag', 'greeter:1', ref)

  const push1 = await a.run('image', 'push', ref)
  t.match(push1, `The push refers to repository [${reg.host}/greeter]`)
  t.equal(layerLines(push1, 'Pushed').length, 2, 'both layers uploaded')
  const digest = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(push1)?.[1]
  t.ok(digest, 'the push prints the manifest digest')
  const local = JSON.parse(await a.run('image', 'inspect', ref))[0]
  t.equal(digest, local.ManifestDigest, 'the registry holds the manifest byte for byte')
  t.same(local.RepoDigests, [`${reg.host}/greeter@${digest}`], 'RepoDigests after a push, as docker shows them')

  const inspect = JSON.parse((await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`])).stdout)
  t.equal(inspect.Digest, digest, 'skopeo sees the same digest')
  t.equal(inspect.Layers.length, 2)
  await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}/sk:g`])
  await exec('umoci', ['unpack', '--image', `${dir}/sk:g`, `${dir}/unpacked`])
  t.equal(fs.readFileSync(`${dir}/unpacked/rootfs/greeting`, 'utf8'), 'hello from the registry\n', 'umoci unpacks the pushed image')
  t.ok(fs.existsSync(`${dir}/unpacked/rootfs/bin/busybox`))

  const push2 = await a.run('image', 'push', ref)
  t.equal(layerLines(push2, 'Layer already exists').length, 2, 'a second push sends no layer')
  t.equal(layerLines(push2, 'Pushed').length, 0)

  await a.run('image', 'tag', 'greeter:1', `${reg.host}/team/greeter:2`)
  const push3 = await a.run('image', 'push', `${reg.host}/team/greeter:2`)
  t.equal(layerLines(push3, 'Mounted from greeter').length, 2, 'another repository mounts the layers instead of receiving them again')
  const log = reg.stderr()
  t.match(log, /"PUT \/v2\/greeter\/blobs\/uploads\//, 'the registry log shows the first push\'s uploads')
  t.match(log, /"POST \/v2\/team\/greeter\/blobs\/uploads\/\?mount=sha256/, 'and the mount requests of the second')
  t.notMatch(log, /"(PUT|PATCH) \/v2\/team\/greeter\/blobs\/uploads\/[^"]*" 20[12]/, 'no blob data went to the second repository')

  const b = cli(path.join(dir, 'store-b'))
  const pull = await b.run('image', 'pull', ref)
  t.match(pull, '1: Pulling from greeter')
  t.equal(layerLines(pull, 'Pull complete').length, 2)
  t.match(pull, `Digest: ${digest}`)
  t.match(pull, `Status: Downloaded newer image for ${ref}`)
  const pulled = JSON.parse(await b.run('image', 'inspect', ref))[0]
  t.equal(pulled.Id, id, 'the pulled image has the pushed image ID')
  t.equal(pulled.ManifestDigest, digest)
  t.same(pulled.RepoDigests, [`${reg.host}/greeter@${digest}`])
  t.equal(pulled.Size, local.Size, 'sizes are the uncompressed sizes, as before the push')
  t.equal(await b.run('run', '--rm', ref), 'hello from the registry\n', 'the pulled image runs')
  t.match(await b.run('image', 'pull', ref), `Status: Image is up to date for ${ref}`)
  t.match(await b.run('system', 'check'), /consistent/)

  // On a terminal: one line per layer, redrawn in place (script(1) gives a pty).
  const tty = await exec('script', ['-qec', `${strataBin} image pull ${ref}`, '/dev/null'], { env: { ...process.env, STRATA_ROOT: path.join(dir, 'store-tty') } })
  // eslint-disable-next-line no-control-regex -- ESC is what a terminal escape starts with
  t.match(tty.stdout, /\x1b\[/, 'the terminal gets cursor control')
  t.match(tty.stdout, /[0-9a-f]{12}: Pull complete/)
  t.match(tty.stdout, new RegExp(`Digest: ${digest}[^]*Status: Downloaded newer image for ${ref.replace(/\./g, '\\.')}`), 'Digest and Status come after the layers')

  // Pulled by digest: the same image, with no name.
  const c = cli(path.join(dir, 'store-c'))
  await c.run('image', 'pull', `${reg.host}/greeter@${digest}`)
  t.equal(JSON.parse(await c.run('image', 'inspect', id))[0].RepoTags.length, 0)
})

t.test('strata pulls what skopeo pushed: Docker schema 2, and an image index (linux/amd64 picked)', async (t) => {
  const reg = await startRegistry(t)
  const dir = t.testdir({})
  const tiny = makeTinyImage(path.join(dir, 'layout'), 'v1', { 'hello.txt': 'tiny\n' })
  await exec('skopeo', ['copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${tiny.layout}:v1`, `docker://${reg.host}/tiny:docker`])
  const raw = JSON.parse((await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/tiny:docker`])).stdout)
  t.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json', 'skopeo pushed Docker schema 2')
  const s = cli(path.join(dir, 'store'))
  await s.run('image', 'pull', `${reg.host}/tiny:docker`)
  const img = JSON.parse(await s.run('image', 'inspect', `${reg.host}/tiny:docker`))[0]
  t.equal(img.Id, tiny.configDigest)
  t.same(img.RootFS.diff_ids, [tiny.diffId])
  // A build of FROM alone names the pulled manifest: the index entry keeps its Docker media type.
  fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${reg.host}/tiny:docker\n`)
  await s.run('image', 'build', '-q', '-t', 'same:1', dir)
  const sameEntry = JSON.parse(fs.readFileSync(path.join(dir, 'store', 'oci', 'index.json'), 'utf8')).manifests
    .find((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === 'same:1')
  t.equal(sameEntry?.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')

  // An index with an arm64 and an amd64 entry (the same manifest: the
  // registry only checks that what it names exists).
  const blobs = path.join(tiny.layout, 'blobs', 'sha256')
  const entry = (arch: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: tiny.manifestDigest, size: tiny.manifest.length, platform: { os: 'linux', architecture: arch } })
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [entry('arm64'), entry('amd64')] }))
  const indexDigest = 'sha256:' + crypto.createHash('sha256').update(index).digest('hex')
  fs.writeFileSync(path.join(blobs, indexDigest.slice(7)), index)
  const armOnly = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [entry('arm64')] }))
  const armDigest = 'sha256:' + crypto.createHash('sha256').update(armOnly).digest('hex')
  fs.writeFileSync(path.join(blobs, armDigest.slice(7)), armOnly)
  const layoutIndex = JSON.parse(fs.readFileSync(path.join(tiny.layout, 'index.json'), 'utf8'))
  layoutIndex.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: indexDigest, size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } })
  layoutIndex.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: armDigest, size: armOnly.length, annotations: { 'org.opencontainers.image.ref.name': 'arm' } })
  fs.writeFileSync(path.join(tiny.layout, 'index.json'), JSON.stringify(layoutIndex))
  for (const tag of ['multi', 'arm']) await exec('skopeo', ['copy', '--all', '--dest-tls-verify=false', `oci:${tiny.layout}:${tag}`, `docker://${reg.host}/tiny:${tag}`])

  const pull = await s.run('image', 'pull', `${reg.host}/tiny:multi`)
  t.match(pull, `Digest: ${indexDigest}`, 'docker prints the digest of the index that was pulled')
  const multi = JSON.parse(await s.run('image', 'inspect', `${reg.host}/tiny:multi`))[0]
  t.equal(multi.ManifestDigest, tiny.manifestDigest, 'the linux/amd64 manifest is the image')
  t.same(multi.RepoDigests, [`${reg.host}/tiny@${indexDigest}`], 'its RepoDigest is the index\'s, as docker has it')
  const arm = await s.fail('image', 'pull', `${reg.host}/tiny:arm`)
  t.match(arm.stderr, /ENOENT: .*tiny has no linux\/amd64 image \(it has: linux\/arm64\)/)
  t.notMatch(await s.run('image', 'ls'), /\barm\b/, 'nothing stored for the failed pull')
})

t.test('basic auth (htpasswd): login checks and saves 0600 credentials; push and pull use them; logout', async (t) => {
  const reg = await startRegistry(t, { auth: 'htpasswd' })
  const dir = t.testdir({})
  const { a } = await greeterStore(t, dir)
  const authFile = path.join(dir, 'auth', 'auth.json')
  const withAuth = cli(path.join(dir, 'store-a'), { STRATA_AUTH_FILE: authFile })
  const ref = `${reg.host}/private:1`
  await a.run('image', 'tag', 'greeter:1', ref)

  const anon = await withAuth.fail('image', 'push', ref)
  t.match(anon.stderr, new RegExp(`EACCES: .*401.*strata login ${reg.host}`), 'without login the push fails, saying how to log in')

  const bad = await withAuth.call(['login', '-u', reg.user, '--password-stdin', reg.host], 'wrong\n')
  t.not(bad.code, 0)
  t.match(bad.stderr, /incorrect username or password/)
  t.notOk(fs.existsSync(authFile), 'a failed login saves nothing')

  const ok = await withAuth.call(['login', '-u', reg.user, '--password-stdin', reg.host], reg.password + '\n')
  t.equal(ok.code, 0, ok.stderr)
  t.match(ok.stdout, 'Login Succeeded')
  t.equal(fs.statSync(authFile).mode & 0o777, 0o600, 'credentials file mode 0600')
  t.equal(JSON.parse(fs.readFileSync(authFile, 'utf8')).auths[reg.host].auth, Buffer.from(reg.creds).toString('base64'))

  t.equal(layerLines(await withAuth.run('image', 'push', ref), 'Pushed').length, 2)
  const b = cli(path.join(dir, 'store-b'), { STRATA_AUTH_FILE: authFile })
  await b.run('image', 'pull', ref)
  t.equal(await b.run('run', '--rm', ref), 'hello from the registry\n')

  t.match(await withAuth.run('logout', reg.host), `Removing login credentials for ${reg.host}`)
  const c = cli(path.join(dir, 'store-c'), { STRATA_AUTH_FILE: authFile })
  t.match((await c.fail('image', 'pull', ref)).stderr, /EACCES/, 'after logout the registry refuses')
})

t.test('bearer token flow: login, push and pull through the token server', async (t) => {
  const reg = await startRegistry(t, { auth: 'token' })
  const dir = t.testdir({})
  const { a } = await greeterStore(t, dir)
  const authFile = path.join(dir, 'auth.json')
  const s = cli(path.join(dir, 'store-a'), { STRATA_AUTH_FILE: authFile })
  const ref = `${reg.host}/tok/greeter:1`
  await a.run('image', 'tag', 'greeter:1', ref)
  const bad = await s.call(['login', '-u', reg.user, '--password-stdin', reg.host], 'nope')
  t.match(bad.stderr, /EACCES/)
  t.notOk(fs.existsSync(authFile))
  t.equal((await s.call(['login', '-u', reg.user, '--password-stdin', reg.host], reg.password)).code, 0)
  const before = reg.tokenRequests
  await s.run('image', 'push', ref)
  t.ok(reg.tokenRequests > before, 'the push fetched a token')
  t.ok(reg.tokenLog.some((r) => r.user === reg.user && r.scopes.includes('repository:tok/greeter:pull,push') && r.status === 200),
    'a token scoped to pull,push on the repository, for the logged-in user')
  const b = cli(path.join(dir, 'store-b'), { STRATA_AUTH_FILE: authFile })
  await b.run('image', 'pull', ref)
  t.equal(await b.run('run', '--rm', ref), 'hello from the registry\n')
  const anon = cli(path.join(dir, 'store-c'), { STRATA_AUTH_FILE: path.join(dir, 'none.json') })
  t.match((await anon.fail('image', 'pull', ref)).stderr, /EACCES|ENOENT/, 'an anonymous token grants nothing')
})

const outsideIp = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address

t.test('plain HTTP only for loopback and registries marked insecure', { skip: outsideIp ? false : 'no non-loopback IPv4 address on this machine' }, async (t) => {
  const ip = outsideIp!
  const reg = await startRegistry(t)
  const dir = t.testdir({})
  const s = cli(path.join(dir, 'store'))
  const tiny = makeTinyImage(path.join(dir, 'layout'), 'v1')
  await exec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${tiny.layout}:v1`, `docker://${reg.host}/tiny:1`])
  // The same registry, reached through a non-loopback address.
  const [rhost, rport] = reg.host.split(':')
  const relay = net.createServer((c) => { const u = net.connect(Number(rport), rhost); c.pipe(u).pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()) })
  await new Promise<void>((resolve) => relay.listen(0, ip, resolve))
  t.teardown(() => new Promise<void>((resolve) => { relay.close(() => { resolve() }) }))
  const host = `${ip}:${(relay.address() as net.AddressInfo).port}`
  const refused = await s.fail('image', 'pull', `${host}/tiny:1`)
  t.match(refused.stderr, /plain HTTP is used only for loopback registries and those marked insecure/)
  await s.run('image', 'pull', '--insecure', `${host}/tiny:1`)
  const viaEnv = cli(path.join(dir, 'store2'), { STRATA_INSECURE_REGISTRIES: host })
  await viaEnv.run('image', 'pull', `${host}/tiny:1`)
  t.equal(JSON.parse(await viaEnv.run('image', 'inspect', `${host}/tiny:1`))[0].Id, tiny.configDigest)
})

t.test('bad input gets a clear error and changes nothing', async (t) => {
  const reg = await startRegistry(t)
  const dir = t.testdir({})
  const s = cli(path.join(dir, 'store'))
  t.match((await s.fail('image', 'pull', `${reg.host}/nothing:1`)).stderr, /ENOENT: manifest 127\.0\.0\.1:\d+\/nothing:1 not found/)
  t.match((await s.fail('image', 'pull', 'greeter:1')).stderr, /EINVAL: "greeter:1" names no registry/)
  t.match((await s.fail('image', 'push', `${reg.host}/absent:1`)).stderr, /ENOENT: no image 127\.0\.0\.1:\d+\/absent:1 in the store/)
  t.match((await s.fail('image', 'pull', `${reg.host}/x@sha256:1234`)).stderr, /EINVAL: invalid digest/)
  // A port where nothing listens: refused, after the retries.
  const closed = await new Promise<number>((resolve) => { const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = (srv.address() as net.AddressInfo).port; srv.close(() => { resolve(p) }) }) })
  t.match((await s.fail('image', 'pull', `127.0.0.1:${closed}/x:1`)).stderr, /ECONNREFUSED: cannot reach registry 127\.0\.0\.1:\d+/)
  t.same(fs.readdirSync(path.join(dir, 'store', 'tmp')), [], 'no staging left')
  t.equal(fs.readdirSync(path.join(dir, 'store', 'oci', 'blobs', 'sha256')).length, 0, 'no blob stored')
})
