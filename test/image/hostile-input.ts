// Untrusted input must not exhaust the machine: each case runs the real CLI
// under /usr/bin/time -v (peak RSS), with disk use measured where it
// matters, and must fail with the error it names — or, for a repeated
// layer, succeed without repeating the work.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import http from 'node:http'
import zlib from 'node:zlib'
import crypto from 'node:crypto'
import { spawn, execFileSync } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { strataBin } from '../fixtures/strata-async.js'
import { tarOf } from '../fixtures/registry.js'

interface Timed { code: number, stdout: string, stderr: string, rssMB: number }

/** Runs strata under GNU time; `watch` is called every 50 ms while it runs. */
function timed (args: string[], env: NodeJS.ProcessEnv, watch?: () => void): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-v', strataBin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = watch ? setInterval(watch, 50) : null
    child.on('error', reject)
    child.on('close', (code) => {
      if (timer) clearInterval(timer)
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)
      resolve({ code: code ?? 1, stdout, stderr: stderr.replace(/\n?\tCommand being timed[\s\S]*$/, ''), rssMB: rss ? Number(rss[1]) / 1024 : NaN })
    })
  })
}

const sha256 = (b: Buffer): string => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex')

/** A docker-archive from its files. */
const archive = (files: Record<string, Buffer | string>): Buffer => tarOf(files)

/**
 * A tmpfs of `mb` MiB for a store that can fill up, outside the test dir
 * (whose removal must not meet a mount); unmounted and removed at teardown.
 */
function smallDisk (t: Test, mb: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-disk-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir])
  t.teardown(() => {
    execFileSync('umount', ['-l', dir])
    fs.rmdirSync(dir)
  })
  return dir
}

/** Writes spaces into `res` without end, as fast as the client reads. */
function endless (res: http.ServerResponse): void {
  const chunk = Buffer.alloc(1 << 20, 0x20)
  const more = (): void => { while (!res.destroyed && res.write(chunk)); }
  res.on('drain', more)
  more()
}

/** Listens on a free loopback port, closed in teardown; resolves with the port. */
async function listen (t: Test, server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return (server.address() as AddressInfo).port
}

t.test('a manifest sent without Content-Length stops at 4 MiB', async (t) => {
  const dir = t.testdir({})
  const server = http.createServer((req, res) => {
    if (req.url === '/v2/') { res.end('{}'); return }
    // Chunked, no Content-Length, and no end.
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' })
    endless(res)
  })
  const port = await listen(t, server)
  const r = await timed(['image', 'pull', `127.0.0.1:${port}/x:1`], { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` })
  t.not(r.code, 0)
  t.match(r.stderr, /EFBIG: manifest 127\.0\.0\.1:\d+\/x:1 is larger than 4194304 bytes/)
  t.ok(r.rssMB < 300, `peak RSS ${r.rssMB.toFixed(0)} MB`)
})

t.test("a config blob's body stops at the size its descriptor gives", async (t) => {
  const dir = t.testdir({})
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }))
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [] }))
  const server = http.createServer((req, res) => {
    if (req.url === '/v2/') { res.end('{}'); return }
    if (req.url?.includes('/manifests/')) {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' })
      res.end(manifest)
      return
    }
    // The config: its bytes, then garbage without end, no Content-Length.
    res.writeHead(200)
    res.write(config)
    endless(res)
  })
  const port = await listen(t, server)
  const r = await timed(['image', 'pull', `127.0.0.1:${port}/x:1`], { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` })
  t.not(r.code, 0)
  t.match(r.stderr, new RegExp(`blob ${sha256(config)} of 127\\.0\\.0\\.1:\\d+/x: the registry sent more than its ${config.length} bytes`))
  t.ok(r.rssMB < 300, `peak RSS ${r.rssMB.toFixed(0)} MB`)
})

t.test('a layer named 250 times in manifest.json is decompressed once', async (t) => {
  const dir = t.testdir({})
  // 4 MiB of layer in a small gzip: decompressing it 250 times would take 1 GB.
  const layerTar = tarOf({ 'data.bin': Buffer.alloc(4 << 20, 7) })
  const layer = zlib.gzipSync(layerTar)
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: Array(250).fill(sha256(layerTar)) } }))
  const manifest = JSON.stringify([{ Config: 'config.json', RepoTags: ['rep:1'], Layers: Array(250).fill('l/layer.tar') }])
  fs.writeFileSync(`${dir}/a.tar`, archive({ 'manifest.json': manifest, 'config.json': config, 'l/layer.tar': layer }))
  const store = `${dir}/store`
  let peak = 0
  const watch = (): void => {
    try { peak = Math.max(peak, Number(execFileSync('du', ['-sb', store], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\t')[0])) } catch { /* between renames */ }
  }
  const r = await timed(['image', 'load', '-i', `${dir}/a.tar`], { ...process.env, STRATA_ROOT: store, STRATA_RUN_DIR: `${dir}/run` }, watch)
  t.equal(r.code, 0, r.stderr)
  t.ok(peak < 40 << 20, `peak store use ${(peak / 2 ** 20).toFixed(1)} MiB (250 decompressions would be 1000)`)
  t.ok(r.rssMB < 300, `peak RSS ${r.rssMB.toFixed(0)} MB`)
  t.equal(fs.readdirSync(`${store}/layers`).filter((n) => /^[0-9a-f]{64}$/.test(n)).length, 1, 'one layer dir')
  t.match(execFileSync(strataBin, ['image', 'history', 'rep:1'], { env: { ...process.env, STRATA_ROOT: store }, encoding: 'utf8' }), /rep|IMAGE|CREATED/)
})

t.test('a gzip bomb stops at the free space, as ENOSPC', async (t) => {
  const dir = t.testdir({})
  const store = smallDisk(t, 192)
  // 1 GiB of zeros in one file, gzipped to about a megabyte.
  const header = tarOf({ bomb: '' }).subarray(0, 512)
  header.write((2 ** 30).toString(8).padStart(11, '0') + '\0', 124)
  header.fill(32, 148, 156)
  let sum = 0
  for (const x of header) sum += x
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
  const gz = zlib.createGzip({ level: 9 })
  const parts: Buffer[] = []
  gz.on('data', (c: Buffer) => parts.push(c))
  const ended = new Promise((r) => gz.on('end', r))
  gz.write(header)
  const zeros = Buffer.alloc(16 << 20)
  for (let i = 0; i < 64; i++) if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r))
  gz.end(Buffer.alloc(1024))
  await ended
  const bomb = Buffer.concat(parts)
  t.ok(bomb.length < 2 << 20, `the bomb is ${bomb.length} bytes`)
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['sha256:' + '0'.repeat(64)] } }))
  fs.writeFileSync(`${dir}/a.tar`, archive({ 'manifest.json': JSON.stringify([{ Config: 'c.json', RepoTags: ['bomb:1'], Layers: ['bomb.tar.gz'] }]), 'c.json': config, 'bomb.tar.gz': bomb }))
  let peakUsed = 0
  const watch = (): void => { const s = fs.statfsSync(store); peakUsed = Math.max(peakUsed, (s.blocks - s.bfree) * s.bsize) }
  const r = await timed(['image', 'load', '-i', `${dir}/a.tar`], { ...process.env, STRATA_ROOT: `${store}/s`, STRATA_RUN_DIR: `${dir}/run` }, watch)
  t.not(r.code, 0)
  t.match(r.stderr, /ENOSPC: layer bomb\.tar\.gz: decompressed to more than the \d+ bytes the store may still use/)
  t.notMatch(r.stderr, /EBADMSG/)
  t.ok(peakUsed < 160 << 20, `peak disk use ${(peakUsed / 2 ** 20).toFixed(0)} MiB of 192: the reserve was kept`)
  t.ok(r.rssMB < 300, `peak RSS ${r.rssMB.toFixed(0)} MB`)
  t.equal(execFileSync(strataBin, ['system', 'check'], { env: { ...process.env, STRATA_ROOT: `${store}/s`, STRATA_RUN_DIR: `${dir}/run` }, encoding: 'utf8' }), 'store is consistent\n', 'nothing left behind')
})

t.test('a layer that cannot fit is refused early, as ENOSPC', async (t) => {
  const dir = t.testdir({})
  const store = smallDisk(t, 128)
  const layerTar = tarOf({ big: crypto.randomBytes(80 << 20) })
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] } }))
  fs.writeFileSync(`${dir}/a.tar`, archive({ 'manifest.json': JSON.stringify([{ Config: 'c.json', RepoTags: ['big:1'], Layers: ['big/layer.tar'] }]), 'c.json': config, 'big/layer.tar': layerTar }))
  const r = await timed(['image', 'load', '-i', `${dir}/a.tar`], { ...process.env, STRATA_ROOT: `${store}/s`, STRATA_RUN_DIR: `${dir}/run` })
  t.not(r.code, 0)
  t.match(r.stderr, /ENOSPC: archive entry "big\/layer\.tar": its \d+ bytes do not fit in the \d+ bytes the store may still use/)
  t.notMatch(r.stderr, /EBADMSG/)
  t.ok(r.rssMB < 300, `peak RSS ${r.rssMB.toFixed(0)} MB`)
  t.same(fs.readdirSync(`${store}/s/tmp`), [], 'no temp left')
})

t.test('every malformed manifest.json is refused naming the field', async (t) => {
  const dir = t.testdir({})
  const cases: Array<[string, unknown, RegExp]> = [
    ['an object instead of an array', { Config: 'c.json', Layers: [] }, /EBADMSG: manifest\.json: expected an array of images, got object/],
    ['an entry that is not an object', ['c.json'], /manifest\.json\[0\]: expected an object, got string/],
    ['an entry without Layers', [{ Config: 'c.json' }], /manifest\.json\[0\]\.Layers: missing/],
    ['an entry without Config', [{ Layers: [] }], /manifest\.json\[0\]\.Config: missing/],
    ['a layer path that is not a string', [{ Config: 'c.json', Layers: [7] }], /manifest\.json\[0\]\.Layers\[0\]: not a string/],
    ['RepoTags not an array', [{ Config: 'c.json', Layers: [], RepoTags: 'x:1' }], /manifest\.json\[0\]\.RepoTags: not an array/],
    ['a ".." layer path', [{ Config: 'c.json', Layers: ['../../etc/passwd'] }], /EPERM: layer tar: "\.\." in manifest\.json\[0\]\.Layers\[0\] "\.\.\/\.\.\/etc\/passwd"/],
    ['an absolute config path', [{ Config: '/etc/passwd', Layers: [] }], /EPERM: layer tar: absolute path in manifest\.json\[0\]\.Config "\/etc\/passwd"/],
  ]
  for (const [label, doc, msg] of cases) {
    const file = `${dir}/${label.replace(/\W+/g, '-')}.tar`
    fs.writeFileSync(file, archive({ 'manifest.json': JSON.stringify(doc), 'c.json': '{}' }))
    const r = await timed(['image', 'load', '-i', file], { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` })
    t.not(r.code, 0, label)
    t.match(r.stderr, msg, label)
    t.notMatch(r.stderr, /\n\s+at /, `${label}: no stack trace`)
  }
})

t.test('an import of a gzip bomb stops at the bound, as ENOSPC', async (t) => {
  const dir = t.testdir({})
  // 256 MiB of zeros as a gzipped "rootfs tar"; the bound is set to 16 MiB.
  fs.writeFileSync(`${dir}/bomb.tar.gz`, zlib.gzipSync(Buffer.alloc(256 << 20), { level: 9 }))
  let peak = 0
  const watch = (): void => {
    try { peak = Math.max(peak, Number(execFileSync('du', ['-sb', `${dir}/store`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\t')[0])) } catch { /* not made yet */ }
  }
  const r = await timed(['image', 'import', `${dir}/bomb.tar.gz`, 'bomb:1'], { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run`, STRATA_MAX_LAYER_BYTES: String(16 << 20) }, watch)
  t.not(r.code, 0)
  t.match(r.stderr, new RegExp(`ENOSPC: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/bomb\\.tar\\.gz: decompressed to more than the ${16 << 20} bytes`))
  t.ok(peak < 24 << 20, `peak store use ${(peak / 2 ** 20).toFixed(1)} MiB`)
  t.ok(r.rssMB < 300, `peak RSS ${r.rssMB.toFixed(0)} MB`)
})

t.test('a pull whose layers cannot fit is refused before any download, as ENOSPC', async (t) => {
  const dir = t.testdir({})
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['sha256:' + '1'.repeat(64)] } }))
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: 'sha256:' + '2'.repeat(64), size: 2 ** 40 }],
  }))
  let layerAsked = false
  const server = http.createServer((req, res) => {
    if (req.url === '/v2/') { res.end('{}'); return }
    if (req.url?.includes('/manifests/')) { res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }); res.end(manifest); return }
    if (req.url?.endsWith(sha256(config))) { res.end(config); return }
    layerAsked = true
    res.writeHead(404); res.end()
  })
  const port = await listen(t, server)
  const r = await timed(['image', 'pull', `127.0.0.1:${port}/x:1`], { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` })
  t.not(r.code, 0)
  t.match(r.stderr, /ENOSPC: 127\.0\.0\.1:\d+\/x:1: its layer blobs: its 1099511627776 bytes do not fit in the \d+ bytes the store may still use/)
  t.notOk(layerAsked, 'no layer was requested')
})
