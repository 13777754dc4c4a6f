// --estargz-record: convert and push run the image's command (or the one
// given) once in a container, record the files it opened (through the FUSE
// daemon's opens), and put exactly those before the prefetch landmark; a
// lazy pull of the pushed image prefetches them at mount and no other.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startRegistry } from '../fixtures/registry.js'
import { cli } from '../fixtures/estargz-image.js'

const exec = promisify(execFile)

/** The regular files before .prefetch.landmark in a stored eStargz blob, in order (tar's own listing). */
async function beforeLandmark (root: string, digest: string): Promise<string[] | null> {
  const { stdout } = await exec('tar', ['-tzf', path.join(root, 'oci/blobs/sha256', digest.slice(7))], { maxBuffer: 64 << 20 })
  const names = stdout.split('\n').map((n) => n.replace(/^\.\//, ''))
  const i = names.indexOf('.prefetch.landmark')
  return i < 0 ? null : names.slice(0, i).filter((n) => n && !n.endsWith('/'))
}

t.test('convert and push --estargz-record', async (t) => {
  const reg = await startRegistry(t)
  const dir = t.testdir({})
  const root = path.join(dir, 'store')
  const a = cli(root)
  const fsroot = path.join(dir, 'rootfs')
  for (const d of ['bin', 'etc', 'app', 'data']) fs.mkdirSync(path.join(fsroot, d), { recursive: true })
  fs.copyFileSync('/bin/busybox', path.join(fsroot, 'bin/busybox'))
  for (const x of ['sh', 'cat']) fs.symlinkSync('busybox', path.join(fsroot, 'bin', x))
  fs.writeFileSync(path.join(fsroot, 'app/a'), 'a\n')
  fs.writeFileSync(path.join(fsroot, 'app/b'), 'b\n')
  fs.writeFileSync(path.join(fsroot, 'etc/conf'), 'conf\n')
  fs.writeFileSync(path.join(fsroot, 'data/unused'), Buffer.alloc(1 << 20, 7))
  await a.run('image', 'import', fsroot, 'app:1', '-c', 'CMD ["/bin/sh", "-c", "cat /app/a /etc/conf > /dev/null"]')

  const r = await a.call(['image', 'convert', '--estargz', '--estargz-record', '', 'app:1', 'app:esgz'])
  t.equal(r.code, 0, 'convert --estargz-record')
  t.match(r.stderr, /recorded 3 file\(s\) opened by the image's command \(exit status 0\)/, 'the shell binary and the two files it read')
  const layers = JSON.parse(await a.run('image', 'inspect', 'app:esgz'))[0].Layers as Array<{ digest: string }>
  t.same((await beforeLandmark(root, layers[0].digest))?.sort(), ['app/a', 'bin/busybox', 'etc/conf'], 'exactly the files the Cmd opened come before the landmark')

  await a.run('image', 'tag', 'app:1', `${reg.host}/app:1`)
  const p = await a.call(['image', 'push', '--estargz-record', 'cat /app/b', `${reg.host}/app:1`])
  t.equal(p.code, 0, 'push --estargz-record CMD (implies --estargz)')
  t.match(p.stderr, /recorded 2 file\(s\)/, 'sh and /app/b')

  const lazy = path.join(dir, 'store-lazy')
  const b = cli(lazy, { STRATA_LAZY_FILL: '0' })
  await b.run('image', 'pull', '--lazy', `${reg.host}/app:1`)
  const mnt = path.join(dir, 'mnt')
  fs.mkdirSync(mnt)
  await b.run('mount', `${reg.host}/app:1`, mnt)
  t.teardown(async () => { await b.call(['umount', mnt]) })
  // Marked = content not fetched yet (the skeleton's lazy mark).
  const marked = async (): Promise<string[]> => {
    const { stdout } = await exec('sh', ['-c', 'getfattr -R -h -m trusted.strata.lazy --absolute-names "$1" 2>/dev/null | sed -n "s|^# file: .*/tree/||p" | sort', 'sh', path.join(lazy, 'lazy')])
    return stdout.split('\n').filter((n) => n && n !== '.prefetch.landmark')
  }
  let left = await marked()
  for (let i = 0; i < 100 && (left.includes('app/b') || left.includes('bin/busybox')); i++) { await new Promise((r) => setTimeout(r, 100)); left = await marked() }
  t.same(left, ['app/a', 'data/unused', 'etc/conf'], 'the mount prefetched the recorded files (busybox, /app/b) and nothing else')
})
