// eStargz writing: `strata image convert --estargz` and `strata image push
// --estargz`. The blobs are checked against the format (every TOC chunk
// gunzips alone at its offset to bytes of its chunkDigest, the footer points
// at the TOC, the TOC at its annotation, the config's DiffIDs are the
// uncompressed streams'), and read by others as plain tar.gz layers: strata's
// own pull, skopeo + umoci give the same tree as the source image (plus the
// landmark and TOC files every eStargz layer holds at its root).
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import crypto from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startRegistry } from '../fixtures/registry.js'
import { treeSnapshot } from '../fixtures/tree-snapshot.js'
import { diffTrees } from '../fixtures/diff-trees.js'
import { cli, richStore } from '../fixtures/estargz-image.js'
import { readTar } from '../../src/image/tar-reader.js'
import { cleanTocName, FOOTER_SIZE, NO_PREFETCH_LANDMARK, TOC_DIGEST, TOC_NAME, ESTARGZ_UNCOMPRESSED_SIZE, parseFooter, type Toc } from '../../src/oci/estargz.js'

const exec = promisify(execFile)
const sha256 = (b: Buffer): string => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex')

const inspect = async (a: ReturnType<typeof cli>, ref: string) => JSON.parse(await a.run('image', 'inspect', ref))[0]

const snap = (dir: string) => treeSnapshot(dir)
/** The tree a mount shows, minus what every eStargz layer adds at its root. */
const withoutEstargzFiles = (s: ReturnType<typeof snap>) => {
  for (const k of [TOC_NAME, NO_PREFETCH_LANDMARK]) s.delete(k)
  const r = s.get('')
  if (r?.names) r.names = r.names.filter((n) => n !== TOC_NAME && n !== NO_PREFETCH_LANDMARK)
  return s
}

async function mountedTree (t: Test, a: ReturnType<typeof cli>, ref: string, mnt: string) {
  fs.mkdirSync(mnt, { recursive: true })
  await a.run('mount', ref, mnt)
  try {
    return snap(mnt)
  } finally {
    await a.run('umount', mnt)
  }
}

/** Checks one eStargz blob against its descriptor and DiffID; returns its TOC. */
async function checkBlob (t: Test, blob: Buffer, desc: { annotations?: Record<string, string> }, diffID: string): Promise<Toc> {
  const tocOff = parseFooter(blob.subarray(blob.length - FOOTER_SIZE))
  t.ok(tocOff !== null && tocOff > 0, 'the blob ends with an eStargz footer')
  const tocTar = zlib.gunzipSync(blob.subarray(tocOff!, blob.length - FOOTER_SIZE))
  t.equal(tocTar.toString('latin1', 0, TOC_NAME.length), TOC_NAME, 'the TOC member starts with its tar header')
  const size = parseInt(tocTar.toString('latin1', 124, 135), 8)
  const json = tocTar.subarray(512, 512 + size)
  t.equal(sha256(json), desc.annotations?.[TOC_DIGEST], 'the TOC digest is the annotation')
  const whole = zlib.gunzipSync(blob)
  t.equal(sha256(whole), diffID, 'the DiffID is the sha256 of the uncompressed stream')
  t.equal(desc.annotations?.[ESTARGZ_UNCOMPRESSED_SIZE], String(whole.length), 'uncompressed-size annotation')
  const toc = JSON.parse(json.toString()) as Toc
  const names: string[] = []
  for await (const { header } of readTar((async function * () { yield whole })())) names.push(cleanTocName(header.name))
  t.same(toc.entries.filter((e) => e.type !== 'chunk').map((e) => e.name), names.filter((n) => n !== TOC_NAME), 'the TOC lists every tar entry, in order')
  let chunks = 0
  const bad: string[] = []
  for (const e of toc.entries) {
    if ((e.type !== 'reg' && e.type !== 'chunk') || !e.offset) continue
    const data = zlib.gunzipSync(blob.subarray(e.offset)) // concatenated members: from here to the end
    const len = e.chunkSize || (e.size ?? 0) - (e.chunkOffset ?? 0)
    if (sha256(data.subarray(0, len)) !== e.chunkDigest) bad.push(`${e.name}@${e.chunkOffset ?? 0}`)
    chunks++
  }
  t.same(bad, [], `each of ${chunks} chunks decompresses alone, at its offset, to its chunkDigest`)
  return toc
}

t.test('convert --estargz: a valid eStargz image, the same tree, mounts as any image', async (t) => {
  const dir = t.testdir({})
  const { a, root, big } = await richStore(t, dir)
  const r = await a.call(['image', 'convert', 'rich:1', 'rich:esgz'])
  t.not(r.code, 0, 'no format named: refused')
  t.match(r.stderr, /--estargz/)
  t.notMatch(r.stderr, / {4}at /, 'no stack trace')
  await a.run('image', 'convert', '--estargz', '--chunk-size', String(1 << 20), 'rich:1', 'rich:esgz')
  const src = await inspect(a, 'rich:1')
  const dst = await inspect(a, 'rich:esgz')
  t.equal(dst.Layers.length, 2)
  t.not(dst.Id, src.Id, 'a new image')
  for (const [i, l] of dst.Layers.entries()) {
    const blob = fs.readFileSync(path.join(root, 'oci', 'blobs', 'sha256', l.digest.slice(7)))
    const toc = await checkBlob(t, blob, l, l.diffID)
    t.equal(toc.entries[0].name, NO_PREFETCH_LANDMARK, 'no prioritized files: the no-prefetch landmark first')
    if (i === 0) {
      const chunks = toc.entries.filter((e) => e.name === 'data/big')
      t.equal(chunks.length, Math.ceil(big.length / (1 << 20)), 'the big file is chunked')
      t.equal(chunks[0].digest, sha256(big), 'its file digest')
      // The two names of one inode: whichever the tar has first is the file.
      const pair = toc.entries.filter((e) => e.name === 'data/hardlink' || e.name === 'data/sub/note')
      const reg = pair.find((e) => e.type === 'reg')
      const link = pair.find((e) => e.type === 'hardlink')
      t.equal(link?.linkName, reg?.name, 'a hard link names its file')
      t.equal(reg?.xattrs?.['user.note'], Buffer.from([0, 0xff, 0x10]).toString('base64'), 'binary xattr, base64')
    }
  }
  const want = withoutEstargzFiles(await mountedTree(t, a, 'rich:1', path.join(dir, 'm1')))
  const got = withoutEstargzFiles(await mountedTree(t, a, 'rich:esgz', path.join(dir, 'm2')))
  t.same(diffTrees(want, got, { label: 'esgz', nlink: true }), [], 'the converted image mounts to the same tree')
  await a.run('image', 'convert', '--estargz', '--prioritize', '/etc/motd', '--prioritize', 'bin/busybox', 'rich:1', 'rich:prio')
  const prio = await inspect(a, 'rich:prio')
  const order = []
  for (const l of prio.Layers) {
    const blob = fs.readFileSync(path.join(root, 'oci', 'blobs', 'sha256', l.digest.slice(7)))
    const toc = await checkBlob(t, blob, l, l.diffID)
    const i = toc.entries.findIndex((e) => e.name === '.prefetch.landmark')
    order.push(toc.entries.slice(0, i + 1).map((e) => e.name))
  }
  t.same(order, [['etc/motd', 'bin/busybox', '.prefetch.landmark'], ['etc/motd', '.prefetch.landmark']], 'prioritized files first, in the order given, then the landmark')
  const again = await a.run('image', 'convert', '--estargz', 'rich:esgz', 'rich:esgz2')
  t.equal(again.trim(), dst.Id, 'converting eStargz layers again keeps them as they are')
})

t.test('push --estargz: strata pulls it normally, skopeo + umoci unpack it, same DiffIDs and tree', async (t) => {
  const reg = await startRegistry(t)
  const dir = t.testdir({})
  const { a } = await richStore(t, dir)
  const ref = `${reg.host}/rich:1`
  await a.run('image', 'tag', 'rich:1', ref)
  const out = await a.run('image', 'push', '--estargz', ref)
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1]
  t.ok(digest, 'pushed')
  const raw = JSON.parse((await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout)
  t.ok(raw.layers.every((l: { annotations?: Record<string, string> }) => l.annotations?.[TOC_DIGEST]), 'every pushed layer carries a TOC digest')
  const cfg = JSON.parse((await exec('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${ref}`])).stdout)

  const b = cli(path.join(dir, 'store-b'))
  await b.run('image', 'pull', ref)
  const pulled = await inspect(b, ref)
  t.same(pulled.Layers.map((l: { diffID: string }) => l.diffID), cfg.rootfs.diff_ids, 'strata verified every layer against the config DiffIDs')
  const want = withoutEstargzFiles(await mountedTree(t, a, 'rich:1', path.join(dir, 'm1')))
  const gotStrata = await mountedTree(t, b, ref, path.join(dir, 'm2'))
  t.ok(gotStrata.has(TOC_NAME), 'a plain pull keeps the TOC file, as containerd and podman do')
  t.same(diffTrees(want, withoutEstargzFiles(gotStrata), { label: 'pull', nlink: true }), [], 'strata pull: same tree')

  await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}/sk:r`])
  await exec('umoci', ['unpack', '--image', `${dir}/sk:r`, `${dir}/unpacked`])
  const umoci = withoutEstargzFiles(snap(`${dir}/unpacked/rootfs`))
  // umoci's rootfs is the merged tree: whiteouts applied, not kept.
  t.same(diffTrees(want, umoci, { label: 'umoci', nlink: true }), [], 'umoci unpack: same tree')

  // containers/storage's partial pulls read eStargz: podman fetches by chunk.
  const pod = path.join(dir, 'podman')
  fs.mkdirSync(pod)
  fs.writeFileSync(path.join(pod, 'storage.conf'), [
    '[storage]', 'driver = "overlay"', `runroot = "${pod}/run"`, `graphroot = "${pod}/root"`,
    '[storage.options]', 'pull_options = {enable_partial_images = "true", use_hard_links = "false"}', '',
  ].join('\n'))
  const penv = { ...process.env, CONTAINERS_STORAGE_CONF: path.join(pod, 'storage.conf') }
  const podman = (...args: string[]) => exec('podman', ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs', ...args], { env: penv })
  t.teardown(async () => {
    await podman('rmi', '-a', '-f').catch(() => {})
    await exec('sh', ['-c', 'grep -o " $1[^ ]*" /proc/self/mounts | xargs -r -n1 umount -l', 'sh', pod]).catch(() => {})
  })
  const pulled2 = await podman('--log-level=debug', 'pull', '--tls-verify=false', ref)
  t.match(pulled2.stderr, /Retrieved partial blob/, 'podman pulled the layers as partial (eStargz) blobs')
  // Not `podman run`: busybox carries a file capability that podman's
  // bounding set refuses to exec; a copy out of a container shows the tree.
  await podman('create', '--name', 'esgz', ref)
  await podman('cp', 'esgz:/etc/motd', path.join(pod, 'motd'))
  await podman('rm', 'esgz')
  t.equal(fs.readFileSync(path.join(pod, 'motd'), 'utf8'), 'changed in layer 2\n', 'and its containers see the image\'s files')
})
