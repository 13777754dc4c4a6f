// save and load, checked with the real skopeo and umoci both ways; tampered
// and truncated archives refused naming the blob, with nothing left behind;
// rm and prune.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { mountedType } from '../fixtures/mount-overlay.js'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')
type T = Test

function world (t: T) {
  const dir = t.testdir({ rootfs: { etc: { motd: 'hello\n' }, usr: { bin: { tool: 'x'.repeat(10000) } } }, mnt: {} })
  const cli = (root: string) => ({
    run: (...args: string[]): string => execFileSync(strata, args, { env: { ...process.env, STRATA_ROOT: root }, encoding: 'utf8' }),
    fail: (...args: string[]): string => {
      const r = spawnSync(strata, args, { env: { ...process.env, STRATA_ROOT: root }, encoding: 'utf8' })
      if (r.status === 0) throw new Error(`strata ${args.join(' ')} succeeded`)
      return r.stderr
    },
  })
  const a = cli(`${dir}/store-a`)
  a.run('image', 'import', `${dir}/rootfs`, 'base:1')
  a.run('container', 'create', '--name', 'c', 'base:1')
  a.run('mount', 'c', `${dir}/mnt`)
  fs.writeFileSync(`${dir}/mnt/greeting`, 'hi\n')
  fs.rmSync(`${dir}/mnt/etc/motd`)
  a.run('umount', `${dir}/mnt`)
  const id = a.run('commit', '-m', 'greet', 'c', 'greeter:1').trim()
  t.teardown(() => { if (mountedType(`${dir}/mnt`)) spawnSync(strata, ['umount', `${dir}/mnt`]) })
  return { dir, a, b: cli(`${dir}/store-b`), id }
}

/** The extracted layers of a store (not their .size notes nor the empty lower). */
const layerDirs = (root: string): number => fs.readdirSync(`${root}/layers`).filter((n) => /^[0-9a-f]{64}$/.test(n)).length

const tree = (root: string): string => execFileSync('sh', ['-c', 'cd "$1" && find . -mindepth 1 -printf "%p %y %m %s %l\\n" | sort && find . -type f -exec sha1sum {} + | sort', 'sh', root], { encoding: 'utf8' })

t.test('docker-archive: skopeo reads it, and load gives the same image back', async (t) => {
  const { dir, a, b, id } = world(t)
  a.run('image', 'save', '-o', `${dir}/g.tar`, 'greeter:1')
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${dir}/g.tar`], { encoding: 'utf8' }))
  t.equal(inspect.Layers.length, 2, 'skopeo inspects the docker-archive')
  execFileSync('skopeo', ['copy', `docker-archive:${dir}/g.tar`, `oci:${dir}/sk-oci:g`], { stdio: 'pipe' })
  execFileSync('umoci', ['unpack', '--image', `${dir}/sk-oci:g`, `${dir}/bundle`], { stdio: 'pipe' })
  t.match(b.run('image', 'load', '-i', `${dir}/g.tar`), /Loaded image: greeter:1/)
  t.equal(JSON.parse(b.run('image', 'inspect', 'greeter:1'))[0].Id, id, 'load gives the same image ID')
  b.run('mount', 'greeter:1', `${dir}/mnt`)
  t.equal(tree(`${dir}/mnt`), tree(`${dir}/bundle/rootfs`), 'the loaded image mounts as umoci unpacks the skopeo copy')
  b.run('umount', `${dir}/mnt`)
})

t.test('OCI archive: umoci unpacks it like strata mounts it; skopeo-made archives load', async (t) => {
  const { dir, a, b, id } = world(t)
  a.run('image', 'save', '--format', 'oci', '-o', `${dir}/o.tar`, 'greeter:1')
  fs.mkdirSync(`${dir}/layout`)
  execFileSync('tar', ['xf', `${dir}/o.tar`, '-C', `${dir}/layout`])
  execFileSync('umoci', ['unpack', '--image', `${dir}/layout:greeter:1`, `${dir}/bundle`], { stdio: 'pipe' })
  a.run('mount', 'greeter:1', `${dir}/mnt`)
  t.equal(tree(`${dir}/bundle/rootfs`), tree(`${dir}/mnt`), 'umoci unpack of our OCI archive = our mount')
  a.run('umount', `${dir}/mnt`)
  execFileSync('skopeo', ['copy', `oci:${dir}/store-a/oci:greeter:1`, `docker-archive:${dir}/sk.tar:made/by:skopeo`], { stdio: 'pipe' })
  execFileSync('skopeo', ['copy', `oci:${dir}/store-a/oci:greeter:1`, `oci-archive:${dir}/sk-oci.tar:sk:2`], { stdio: 'pipe' })
  t.match(b.run('image', 'load', '-i', `${dir}/sk.tar`), /Loaded image: .*made\/by:skopeo/)
  t.match(b.run('image', 'load', '-i', `${dir}/sk-oci.tar`), /Loaded image: sk:2/)
  t.match(b.run('image', 'load', '-i', `${dir}/o.tar`), /Loaded image: greeter:1/)
  const ids = b.run('image', 'ls', '--no-trunc', '--format', '{{.ID}}').trim().split('\n')
  t.same([...new Set(ids)], [id], 'every route gives back the same image ID')
})

t.test('tampered and truncated archives are refused, naming the blob; nothing stays', async (t) => {
  const { dir, a, b } = world(t)
  a.run('image', 'save', '-o', `${dir}/g.tar`, 'greeter:1')
  b.run('image', 'import', `${dir}/rootfs`, 'other:1')
  const snap = (): string => execFileSync('sh', ['-c', `cd ${dir}/store-b && find . -path ./lock -prune -o -print | sort && cat oci/index.json`], { encoding: 'utf8' })
  const before = snap()
  const buf = fs.readFileSync(`${dir}/g.tar`)
  const at = buf.indexOf(Buffer.from('x'.repeat(64)))
  t.ok(at > 0, 'found file data to tamper with')
  const bad = Buffer.from(buf)
  bad[at] = 0x79
  fs.writeFileSync(`${dir}/bad.tar`, bad)
  t.match(b.fail('image', 'load', '-i', `${dir}/bad.tar`), /layer [0-9a-f]{64}\/layer\.tar: digest mismatch/)
  fs.writeFileSync(`${dir}/short.tar`, buf.subarray(0, Math.floor(buf.length / 2)))
  t.match(b.fail('image', 'load', '-i', `${dir}/short.tar`), /truncated tar|the archive has no/)
  t.match(b.fail('image', 'load', '-i', `${dir}/rootfs/etc/motd`), /checksum mismatch|not an image archive|truncated/)
  t.equal(snap(), before, 'the store is as it was')
})

t.test('rm untags, refuses while a container uses the image, deletes with the last name; prune reclaims', async (t) => {
  const { dir, a } = world(t)
  a.run('image', 'tag', 'greeter:1', 'greeter:latest')
  t.match(a.run('image', 'rm', 'greeter:latest'), /^Untagged: greeter:latest\n$/)
  t.match(a.fail('image', 'rm', 'base:1'), /used by container c/)
  a.run('container', 'rm', 'c')
  const before = layerDirs(`${dir}/store-a`)
  t.match(a.run('image', 'rm', 'greeter:1'), /Untagged: greeter:1\nDeleted: sha256:/)
  t.equal(layerDirs(`${dir}/store-a`), before - 1, "the layer only it had is gone; the base's stays")
  a.run('image', 'import', `${dir}/rootfs`, 'tmp:1')
  a.run('container', 'create', '--name', 'd', 'base:1')
  a.run('mount', 'd', `${dir}/mnt`)
  fs.writeFileSync(`${dir}/mnt/f`, 'x'.repeat(100000))
  a.run('umount', `${dir}/mnt`)
  a.run('commit', 'd', 'tmp:1') // tmp:1 moves: the old one is dangling now
  t.match(a.run('image', 'ls'), /<none>\s+<none>/, 'the replaced image is listed as dangling')
  a.run('container', 'rm', 'd')
  t.match(a.run('image', 'prune'), /Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: /)
  t.notMatch(a.run('image', 'ls'), /<none>/)
})

t.test('a Docker 25+ archive (an OCI layout with a manifest.json) loads', async (t) => {
  const { dir, a, b, id } = world(t)
  a.run('image', 'save', '--format', 'oci', '-o', `${dir}/o.tar`, 'greeter:1')
  fs.mkdirSync(`${dir}/d25`)
  execFileSync('tar', ['xf', `${dir}/o.tar`, '-C', `${dir}/d25`])
  const index = JSON.parse(fs.readFileSync(`${dir}/d25/index.json`, 'utf8'))
  const manifest = JSON.parse(fs.readFileSync(`${dir}/d25/blobs/sha256/${index.manifests[0].digest.slice(7)}`, 'utf8'))
  fs.writeFileSync(`${dir}/d25/manifest.json`, JSON.stringify([{
    Config: `blobs/sha256/${manifest.config.digest.slice(7)}`,
    RepoTags: ['docker25:1'],
    Layers: manifest.layers.map((l: { digest: string }) => `blobs/sha256/${l.digest.slice(7)}`),
  }]))
  execFileSync('tar', ['cf', `${dir}/d25.tar`, '-C', `${dir}/d25`, '.'])
  t.match(b.run('image', 'load', '-i', `${dir}/d25.tar`), /Loaded image: docker25:1/)
  t.equal(JSON.parse(b.run('image', 'inspect', 'docker25:1'))[0].Id, id)
})
