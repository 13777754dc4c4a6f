// Lazy pulling: `strata image pull --lazy` of an image pushed with --estargz,
// through the fault proxy in front of the real registry. The pull fetches the
// TOCs only; the mounted tree equals a full pull's (names, modes, owners,
// xattrs, hard links, whiteouts across layers, content — a big file read at
// random offsets); `strata run` runs it at once; faults (500s, cuts, stalls,
// a corrupt byte) give EIO or are ridden out, never cache a bad byte, and the
// next read works; the background fill makes the layers whole.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startRegistry } from '../fixtures/registry.js'
import { startFaultProxy } from '../fixtures/fault-proxy.js'
import { treeSnapshot } from '../fixtures/tree-snapshot.js'
import { diffTrees } from '../fixtures/diff-trees.js'
import { cli, richStore } from '../fixtures/estargz-image.js'
import { mulberry32 } from '../fixtures/mulberry32.js'
import { blobBytesThrough } from '../fixtures/pushed-rich-image.js'

const exec = promisify(execFile)
const sha256 = (b: Buffer): string => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex')
const BIG = 24 << 20

/**
 * What reading a file through the mount gives, read by another process: the
 * daemon fetches through the fault proxy, which runs in this process, so a
 * synchronous read here would wait for itself.
 */
async function catFile (file: string): Promise<{ ok: true, data: Buffer } | { ok: false, err: string }> {
  try {
    const { stdout } = await exec('cat', [file], { encoding: 'buffer', maxBuffer: 64 << 20 })
    return { ok: true, data: stdout }
  } catch (err) {
    return { ok: false, err: String((err as { stderr?: Buffer }).stderr ?? err) }
  }
}

async function setup (t: Test) {
  const reg = await startRegistry(t)
  const proxy = await startFaultProxy(t, reg.url)
  const dir = t.testdir({})
  const { a, big } = await richStore(t, dir, BIG)
  await a.run('image', 'tag', 'rich:1', `${reg.host}/rich:1`)
  await a.run('image', 'push', '--estargz', '--prioritize', '/etc/motd', `${reg.host}/rich:1`)
  const ref = `${proxy.host}/rich:1`
  const blobBytes = JSON.parse((await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/rich:1`])).stdout)
    .layers.reduce((s: number, l: { size: number }) => s + l.size, 0) as number
  return { reg, proxy, dir, a, big, ref, blobBytes }
}

/** Reads every file of a mount (asynchronously, see catFile), so that a synchronous snapshot after it needs no network. */
const readAll = (mnt: string): Promise<unknown> => exec('sh', ['-c', 'find "$1" -type f -exec cat {} + > /dev/null', 'sh', mnt])

async function mountLazy (t: Test, root: string, ref: string, mnt: string, env: Record<string, string> = {}) {
  const b = cli(root, { STRATA_LAZY_FILL: '0', ...env })
  fs.mkdirSync(mnt, { recursive: true })
  await b.run('mount', ref, mnt)
  let mounted = true
  const umount = async (): Promise<void> => {
    if (!mounted) return
    mounted = false
    await b.run('umount', mnt)
  }
  t.teardown(umount)
  return { b, umount }
}

t.test('pull --lazy fetches TOCs only; the mount equals a full pull, big file at random offsets; run works at once', async (t) => {
  const { proxy, dir, big, ref, blobBytes } = await setup(t)
  const full = cli(path.join(dir, 'store-full'))
  await full.run('image', 'pull', ref)

  const lazyRoot = path.join(dir, 'store-lazy')
  const b = cli(lazyRoot, { STRATA_LAZY_FILL: '0' })
  proxy.requests.length = 0
  const out = await b.run('image', 'pull', '--lazy', ref)
  t.match(out, /Table of contents verified/)
  const pullBytes = blobBytesThrough(proxy)
  t.ok(pullBytes < blobBytes / 10, `the lazy pull fetched ${pullBytes} of ${blobBytes} blob bytes`)
  const layerBlobs = fs.readdirSync(path.join(lazyRoot, 'oci/blobs/sha256')).length
  t.equal(layerBlobs, 2, 'only config and manifest are stored as blobs')
  t.equal(fs.readdirSync(path.join(lazyRoot, 'lazy')).filter((n) => /^[0-9a-f]{64}$/.test(n)).length, 2, 'two lazy layers')

  // Run first: the container starts before anything else was read.
  proxy.requests.length = 0
  const r = await b.run('run', '--rm', ref)
  t.equal(r, 'changed in layer 2\n', 'strata run of the lazily pulled image')
  const runBytes = blobBytesThrough(proxy)
  t.ok(runBytes < blobBytes / 4, `running it fetched ${runBytes} of ${blobBytes} blob bytes (≤ 25%)`)

  const m1 = path.join(dir, 'm-full')
  const m2 = path.join(dir, 'm-lazy')
  await mountLazy(t, path.join(dir, 'store-full'), ref, m1)
  const { umount } = await mountLazy(t, lazyRoot, ref, m2)
  // Prefetch: the prioritized files fill without being read.
  const countMarked = 'getfattr -R -m trusted.strata.lazy --absolute-names "$1" 2>/dev/null | grep -c "/etc/motd$" || true'
  const marked = async (): Promise<number> => Number((await exec('sh', ['-c', countMarked, 'sh', path.join(lazyRoot, 'lazy')])).stdout.trim())
  let left = await marked()
  for (let i = 0; i < 100 && left > 0; i++) { await new Promise((r) => setTimeout(r, 100)); left = await marked() }
  t.equal(left, 0, 'prioritized /etc/motd was prefetched at mount (no layer still marks it)')
  const rand = mulberry32(11)
  const fh = await fs.promises.open(path.join(m2, 'data/big'), 'r')
  try {
    const bad: number[] = []
    for (let i = 0; i < 40; i++) {
      const off = rand.int(BIG - 70000)
      const len = rand.range(1, 65536)
      const buf = Buffer.alloc(len)
      const { bytesRead } = await fh.read(buf, 0, len, off)
      if (bytesRead !== len || !buf.equals(big.subarray(off, off + len))) bad.push(off)
    }
    t.same(bad, [], 'the big file, read at 40 random offsets, is the original')
  } finally {
    await fh.close()
  }
  await readAll(m2)
  const want = treeSnapshot(m1)
  const got = treeSnapshot(m2)
  t.same(diffTrees(want, got, { label: 'lazy', nlink: true }), [], 'the lazily mounted tree equals the fully pulled one, content and xattrs too')
  t.equal(sha256(fs.readFileSync(path.join(m2, 'data/big'))), sha256(big))
  await umount()
  const again = await mountLazy(t, lazyRoot, ref, m2)
  proxy.requests.length = 0
  const motd = await catFile(path.join(m2, 'etc/motd'))
  t.equal(motd.ok && motd.data.toString(), 'changed in layer 2\n')
  t.equal(blobBytesThrough(proxy), 0, 'a second mount reads what the first fetched from the store')
  await again.umount()
})

t.test('faults while reading: 500s and a corrupt byte give EIO and cache nothing; cuts and stalls are ridden out', async (t) => {
  const { proxy, dir, ref } = await setup(t)
  const root = path.join(dir, 'store-lazy')
  const env = { STRATA_REGISTRY_ATTEMPTS: '3', STRATA_REGISTRY_IDLE_MS: '1500' }
  await cli(root, { STRATA_LAZY_FILL: '0', ...env }).run('image', 'pull', '--lazy', ref)
  const mnt = path.join(dir, 'mnt')
  const { umount } = await mountLazy(t, root, ref, mnt, env)
  const note = path.join(mnt, 'data/sub/note')

  const e500 = proxy.fault({ action: 'status', status: 500 })
  let r = await catFile(note)
  t.notOk(r.ok, 'a registry answering 500 gives the read an error')
  t.match(r.ok ? '' : r.err, /Input\/output error/, 'EIO')
  t.ok(e500.hits >= 3, `retried first (${e500.hits} requests)`)
  e500.remove()
  r = await catFile(note)
  t.ok(r.ok && r.data.equals(Buffer.from('x'.repeat(5000))), 'the next read retries and works')

  const corrupt = proxy.fault({ action: 'corrupt', offset: 30 })
  const busybox = path.join(mnt, 'bin/busybox')
  r = await catFile(busybox)
  t.notOk(r.ok, 'a chunk failing its digest is refused: EIO')
  t.ok(corrupt.hits >= 2, 'fetched again once before refusing')
  corrupt.remove()
  r = await catFile(busybox)
  t.ok(r.ok && r.data.equals(fs.readFileSync('/bin/busybox')), 'nothing bad was cached: the next read gets the right bytes')
  const cap = await exec('getfattr', ['-n', 'security.capability', '-e', 'hex', '--absolute-names', busybox])
  t.match(cap.stdout, /security\.capability=0x0100000200200000/, 'and its file capability survived the failed and the good fill')

  const cut = proxy.fault({ action: 'drop', afterBytes: 1000, times: 1 })
  r = await catFile(path.join(mnt, 'data/big'))
  t.ok(r.ok && r.data.length === BIG, 'a connection cut mid-chunk is resumed')
  t.equal(cut.hits, 1)
  const stall = proxy.fault({ action: 'stall', afterBytes: 10, times: 1 })
  r = await catFile(path.join(mnt, 'data/suid'))
  t.ok(r.ok && r.data.toString() === '#!/bin/sh\n', 'a stalled connection is given up and the read resumed')
  t.equal(stall.hits, 1)

  await umount()
})

t.test('the background fill makes each layer whole and verified; later mounts use it', async (t) => {
  const { proxy, dir, ref } = await setup(t)
  const root = path.join(dir, 'store-lazy')
  await cli(root).run('image', 'pull', '--lazy', ref)
  const mnt = path.join(dir, 'mnt')
  const { umount } = await mountLazy(t, root, ref, mnt, { STRATA_LAZY_FILL: '1', STRATA_LAZY_FILL_DELAY_MS: '0' })
  const layers = (): string[] => fs.readdirSync(path.join(root, 'layers')).filter((n) => /^[0-9a-f]{64}$/.test(n))
  for (let i = 0; i < 600 && layers().length < 2; i++) await new Promise((r) => setTimeout(r, 100))
  t.equal(layers().length, 2, 'both layers were filled and installed')
  await readAll(mnt)
  const lazyView = treeSnapshot(mnt)
  await umount()
  proxy.requests.length = 0
  const { umount: u2 } = await mountLazy(t, root, ref, mnt)
  const whole = treeSnapshot(mnt)
  t.equal(blobBytesThrough(proxy), 0, 'a mount after the fill reads nothing from the registry')
  t.same(diffTrees(whole, lazyView, { label: 'filled', nlink: true }), [], 'and shows the same tree')
  await u2()
})

t.test('bearer tokens that expire while the image runs are renewed', async (t) => {
  const reg = await startRegistry(t, { auth: 'token', tokenTtl: 1 })
  const dir = t.testdir({})
  const env = { XDG_CONFIG_HOME: path.join(dir, 'config') }
  const { a } = await richStore(t, dir)
  const ref = `${reg.host}/rich:1`
  await cli(path.join(dir, 'store-a'), env).run('login', '-u', reg.user, '-p', reg.password, reg.host)
  await a.run('image', 'tag', 'rich:1', ref)
  await cli(path.join(dir, 'store-a'), env).run('image', 'push', '--estargz', ref)
  const root = path.join(dir, 'store-lazy')
  await cli(root, env).run('image', 'pull', '--lazy', ref)
  const mnt = path.join(dir, 'mnt')
  const { umount } = await mountLazy(t, root, ref, mnt, env)
  let r = await catFile(path.join(mnt, 'data/sub/note'))
  t.ok(r.ok, 'a first read with a fresh token')
  const before = reg.tokenRequests
  // The registry accepts a token up to a minute past its expiry (the JWT
  // leeway of Distribution), so the wait is that long.
  await new Promise((resolve) => setTimeout(resolve, 63_000))
  r = await catFile(path.join(mnt, 'data/suid'))
  t.ok(r.ok && r.data.toString() === '#!/bin/sh\n', 'a read after the token expired works')
  t.ok(reg.tokenRequests > before, `a new token was fetched (${reg.tokenRequests - before})`)
  await umount()
})
