// A lazily pulled image made whole: `image save` and `image push` of one
// whose layers are not filled complete them first (blob verified against
// its digest, layer against its DiffID), reusing the bytes already fetched
// on demand — counted through the fault proxy — so the archive and the
// upload are complete; kept bytes that are wrong are never trusted (the
// blob is downloaded whole); a registry gone fails the save or push with
// the layer named and leaves no archive behind.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { cli } from '../fixtures/estargz-image.js'
import { pushedRich, blobBytesThrough } from '../fixtures/pushed-rich-image.js'

const exec = promisify(execFile)
const hexes = (dir: string): string[] => fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n)) : []

async function setup (t: Test) {
  const { reg, proxy, dir, ref } = await pushedRich(t)
  const manifest = JSON.parse((await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/rich:1`])).stdout) as { layers: Array<{ size: number, digest: string }> }
  const blobBytes = manifest.layers.reduce((s, l) => s + l.size, 0)
  // The pushed image's (its eStargz layers have DiffIDs of their own).
  const diffIDs = (JSON.parse((await exec('skopeo', ['inspect', '--config', '--raw', '--tls-verify=false', `docker://${reg.host}/rich:1`])).stdout) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids
  t.equal(diffIDs.length, 2, 'rich:1 has two layers')
  return { reg, proxy, dir, ref, blobBytes, diffIDs, layerDigests: manifest.layers.map((l) => l.digest) }
}

async function lazyStore (root: string, ref: string, env: Record<string, string> = {}) {
  const b = cli(root, { STRATA_LAZY_FILL: '0', ...env })
  await b.run('image', 'pull', '--lazy', ref)
  return b
}

t.test('save of a partly read lazy image: complete, verified, fetching only what was not read yet', async (t) => {
  const { proxy, dir, ref, blobBytes, diffIDs, layerDigests } = await setup(t)
  const root = path.join(dir, 'store-lazy')
  proxy.requests.length = 0
  const b = await lazyStore(root, ref)
  // Read the big file and busybox on demand (most of the first layer).
  const r = await b.call(['run', '--rm', ref, '/bin/sh', '-c', 'cat /data/big /bin/busybox | wc -c'])
  t.equal(r.code, 0, 'the run read them')
  const before = blobBytesThrough(proxy)
  t.ok(before > blobBytes / 2, `pull and run fetched ${before} of ${blobBytes} blob bytes`)
  t.same(hexes(path.join(root, 'layers')), [], 'no layer is filled yet')

  proxy.requests.length = 0
  const out = path.join(dir, 'rich.tar')
  await b.run('image', 'save', '-o', out, ref)
  const fill = blobBytesThrough(proxy)
  t.ok(fill + before <= blobBytes + 4096, `save fetched ${fill} more: together ${fill + before}, the blobs are ${blobBytes} (nothing fetched twice)`)
  t.ok(fill < blobBytes - before + 4096 && fill > 0, 'it fetched the rest')
  t.same(hexes(path.join(root, 'layers')).sort(), diffIDs.map((d) => d.slice(7)).sort(), 'both layers are ordinary layers now')
  for (const d of layerDigests) t.ok(fs.existsSync(path.join(root, 'oci/blobs/sha256', d.slice(7))), `blob ${d.slice(7, 19)} is in the store`)
  for (const h of hexes(path.join(root, 'lazy'))) t.notOk(fs.existsSync(path.join(root, 'lazy', h, 'blob.partial')), 'the kept bytes are dropped once filled')

  // The archive is whole: another store loads it (every layer checked against its DiffID) and runs it.
  const c = cli(path.join(dir, 'store-load'))
  await c.run('image', 'load', '-i', out)
  t.same(JSON.parse(await c.run('image', 'inspect', ref))[0].RootFS.diff_ids, diffIDs, 'the loaded image has the same DiffIDs')
  t.equal(await c.run('run', '--rm', ref, '/bin/sh', '-c', 'wc -c < /data/big; cat /etc/motd'), `${9 << 20}\nchanged in layer 2\n`, 'and runs')
  const sk = await exec('skopeo', ['inspect', `docker-archive:${out}`])
  t.same(JSON.parse(sk.stdout).Layers.length, 2, 'skopeo reads the archive')
})

t.test('the background fill of a mount fetches only what reads have not', async (t) => {
  const { proxy, dir, ref, blobBytes, diffIDs } = await setup(t)
  const root = path.join(dir, 'store-lazy')
  proxy.requests.length = 0
  const b = await lazyStore(root, ref)
  await b.run('run', '--rm', ref, '/bin/sh', '-c', 'cat /data/big /bin/busybox > /dev/null')
  const before = blobBytesThrough(proxy)
  proxy.requests.length = 0
  const mnt = path.join(dir, 'mnt')
  fs.mkdirSync(mnt)
  const m = cli(root, { STRATA_LAZY_FILL: '1', STRATA_LAZY_FILL_DELAY_MS: '0' })
  await m.run('mount', ref, mnt)
  t.teardown(async () => { await m.call(['umount', mnt]) })
  for (let i = 0; i < 600 && hexes(path.join(root, 'layers')).length < 2; i++) await new Promise((r) => setTimeout(r, 100))
  t.same(hexes(path.join(root, 'layers')).sort(), diffIDs.map((d) => d.slice(7)).sort(), 'the fill installed both layers')
  const fill = blobBytesThrough(proxy)
  t.ok(fill + before <= blobBytes + 4096, `the fill fetched ${fill} after reads fetched ${before}, of ${blobBytes}`)
  t.ok(fill < blobBytes / 4, 'most of the blob came from the kept bytes')
})

t.test('push of an unread lazy image uploads whole, verified blobs; kept bytes that are wrong are not trusted', async (t) => {
  const { reg, proxy, dir, ref, blobBytes, diffIDs } = await setup(t)
  const root = path.join(dir, 'store-lazy')
  const b = await lazyStore(root, ref)
  await b.run('run', '--rm', ref)
  // Spoil a kept chunk: the assembled blob fails its digest, and the fill must download it whole.
  const [spoiled] = hexes(path.join(root, 'lazy')).filter((h) => fs.statSync(path.join(root, 'lazy', h, 'fetched'), { throwIfNoEntry: false })?.size)
  t.ok(spoiled, 'a layer kept bytes')
  const kept = fs.readFileSync(path.join(root, 'lazy', spoiled, 'fetched'), 'utf8').trim().split('\n')[0].split(' ').map(Number)
  const fd = fs.openSync(path.join(root, 'lazy', spoiled, 'blob.partial'), 'r+')
  const one = Buffer.alloc(1)
  fs.readSync(fd, one, 0, 1, kept[0] + 5)
  one[0] ^= 0xff
  fs.writeSync(fd, one, 0, 1, kept[0] + 5)
  fs.closeSync(fd)

  proxy.requests.length = 0
  await b.run('image', 'tag', ref, `${reg.host}/copy:1`)
  const r = await b.call(['image', 'push', `${reg.host}/copy:1`])
  t.equal(r.code, 0, 'pushed')
  t.match(r.stderr, /do not make its blob .*; downloading it whole/, 'the spoiled bytes were found out')
  t.ok(blobBytesThrough(proxy) <= blobBytes * 2, 'completing fetched the blobs (one twice at most)')
  const c = cli(path.join(dir, 'store-copy'))
  await c.run('image', 'pull', `${reg.host}/copy:1`)
  t.same(JSON.parse(await c.run('image', 'inspect', `${reg.host}/copy:1`))[0].RootFS.diff_ids, diffIDs, 'a full pull of the pushed copy verifies, with the same DiffIDs')
})

t.test('save and push with the registry gone: the layer named, no archive left', async (t) => {
  const { reg, proxy, dir, ref, layerDigests } = await setup(t)
  const root = path.join(dir, 'store-lazy')
  const b = await lazyStore(root, ref, { STRATA_REGISTRY_ATTEMPTS: '2' })
  proxy.fault({ action: 'status', status: 503 })
  const out = path.join(dir, 'rich.tar')
  let r = await b.call(['image', 'save', '-o', out, ref])
  t.not(r.code, 0, 'save fails')
  t.match(r.stderr, /layer (sha256:[0-9a-f]{64}) of .*rich:1 was pulled lazily and cannot be completed from 127\.0\.0\.1:\d+\/rich/, 'naming the layer and the registry')
  t.ok(layerDigests.some((d) => r.stderr.includes(d)), 'a layer of the image')
  t.same(fs.readdirSync(dir).filter((n) => n.startsWith('rich.tar')), [], 'no archive, not even a partial one')
  await b.run('image', 'tag', ref, `${reg.host}/copy:1`)
  r = await b.call(['image', 'push', `${reg.host}/copy:1`])
  t.not(r.code, 0, 'push fails')
  t.match(r.stderr, /was pulled lazily and cannot be completed/)
  const tags = await fetch(`${reg.url}/v2/copy/tags/list`)
  t.not(tags.status, 200, 'nothing was pushed')
})
