// The image workflow through the CLI, as a user runs it: import → container
// → mount → change files (add, modify, delete, opaque) → commit → history,
// then the committed image read by the real umoci and skopeo straight from
// the store's OCI layout, layers shared between images, and bad input that
// leaves the store as it was.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { mountedType } from '../fixtures/mount-overlay.js'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')

function setup (t: Test) {
  const dir = t.testdir({ rootfs: { bin: {}, etc: { motd: 'hello\n', keep: 'k' }, usr: { share: { doc: { a: 'a', b: 'b' } } }, tmp: {} }, mnt: {}, mnt2: {} })
  fs.copyFileSync('/bin/busybox', `${dir}/rootfs/bin/busybox`)
  fs.chmodSync(`${dir}/rootfs/bin/busybox`, 0o755)
  for (const x of ['sh', 'cat', 'rm', 'mkdir', 'echo', 'ls']) fs.symlinkSync('busybox', `${dir}/rootfs/bin/${x}`)
  const env = { ...process.env, STRATA_ROOT: `${dir}/store` }
  const run = (...args: string[]): string => execFileSync(strata, args, { env, encoding: 'utf8' })
  const fail = (...args: string[]): string => {
    const r = spawnSync(strata, args, { env, encoding: 'utf8' })
    if (r.status === 0) throw new Error(`strata ${args.join(' ')} succeeded`)
    return r.stderr
  }
  t.teardown(() => {
    for (const m of [`${dir}/mnt`, `${dir}/mnt2`]) if (mountedType(m)) spawnSync(strata, ['umount', m], { env })
  })
  return { dir, env, run, fail }
}

const tree = (root: string): string => execFileSync('sh', ['-c', 'cd "$1" && find . -printf "%p %y %m %U:%G %s %l\\n" | sort && find . -type f -exec sha1sum {} + | sort', 'sh', root], { encoding: 'utf8' })

t.test('import, change in a container, commit, history; umoci and skopeo read the result', async (t) => {
  const { dir, run } = setup(t)
  execFileSync('tar', ['-C', `${dir}/rootfs`, '-czf', `${dir}/rootfs.tar.gz`, '.'])
  const id = run('image', 'import', `${dir}/rootfs.tar.gz`, 'base:1', '-m', 'base', '-c', 'CMD ["/bin/sh"]').trim()
  t.match(id, /^sha256:[0-9a-f]{64}$/, 'import prints the image ID')
  run('container', 'create', '--name', 'web', 'base:1')
  run('mount', 'web', `${dir}/mnt`)
  execFileSync('chroot', [`${dir}/mnt`, '/bin/sh', '-c', 'echo hi > /greeting; rm /etc/motd; echo changed > /etc/keep; rm -rf /usr/share/doc; mkdir /usr/share/doc; echo new > /usr/share/doc/c'])
  const live = tree(`${dir}/mnt`)
  run('umount', `${dir}/mnt`)
  t.equal(run('diff', 'web'), 'C /etc\nC /etc/keep\nD /etc/motd\nA /greeting\nC /usr\nC /usr/share\nC /usr/share/doc\nA /usr/share/doc/c\n', 'strata diff, like docker diff')
  const newId = run('commit', '-m', 'greet', '-a', 'Jane <j@x>', '-c', 'CMD ["/bin/cat","/greeting"]', '-c', 'ENV A=1 B="two words"', 'web', 'greeter:1').trim()
  t.not(newId, id)
  const history = run('image', 'history', 'greeter:1')
  t.match(history, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n/, 'docker-style history header')
  t.match(history.split('\n')[1], new RegExp(`^${newId.slice(7, 19)} .* greet$`), 'newest first, with the comment')
  t.match(history.split('\n')[2], /^<missing> .*strata image import rootfs\.tar\.gz .* base$/)
  const full = run('image', 'history', '--no-trunc', 'greeter:1')
  t.match(full.split('\n')[1], new RegExp(`^${newId} .*strata commit -c "CMD \\[.*web\\s+.*greet$`), '--no-trunc: the whole ID and CREATED BY')
  const inspect = JSON.parse(run('image', 'inspect', 'greeter:1'))[0]
  t.same(inspect.Config.Cmd, ['/bin/cat', '/greeting'])
  t.same(inspect.Config.Env, ['A=1', 'B=two words'])
  t.equal(inspect.Author, 'Jane <j@x>')
  t.equal(inspect.RootFS.diff_ids.length, 2)

  run('mount', 'greeter:1', `${dir}/mnt2`)
  t.equal(tree(`${dir}/mnt2`), live, 'the committed image mounts as the container looked')
  t.throws(() => { fs.writeFileSync(`${dir}/mnt2/x`, 'x') }, { code: 'EROFS' }, 'an image alone mounts read-only')
  run('umount', `${dir}/mnt2`)

  execFileSync('umoci', ['unpack', '--image', `${dir}/store/oci:greeter:1`, `${dir}/bundle`], { stdio: 'pipe' })
  t.equal(tree(`${dir}/bundle/rootfs`).replace(/^\. d \d+/m, '.'), live.replace(/^\. d \d+/m, '.'), 'umoci unpack of the store gives the same tree')
  execFileSync('skopeo', ['copy', `oci:${dir}/store/oci:greeter:1`, `dir:${dir}/skopeo-dir`], { stdio: 'pipe' })
  t.ok(fs.existsSync(`${dir}/skopeo-dir/manifest.json`), 'skopeo copies it (digests verified by skopeo)')
})

t.test('layers are stored once, however many images use them', async (t) => {
  const { dir, run } = setup(t)
  run('image', 'import', `${dir}/rootfs`, 'base:1')
  for (const [n, img] of [['a', 'one:1'], ['b', 'two:1']]) {
    run('container', 'create', '--name', n, 'base:1')
    run('mount', n, `${dir}/mnt`)
    fs.writeFileSync(`${dir}/mnt/${n}`, n)
    run('umount', `${dir}/mnt`)
    run('commit', n, img)
  }
  const layers = fs.readdirSync(`${dir}/store/layers`).filter((x) => /^[0-9a-f]{64}$/.test(x))
  t.equal(layers.length, 3, 'base + two small layers, not two copies of base')
  const base = JSON.parse(run('image', 'inspect', 'base:1'))[0].RootFS.diff_ids[0]
  for (const img of ['one:1', 'two:1']) t.equal(JSON.parse(run('image', 'inspect', img))[0].RootFS.diff_ids[0], base)
  const ls = run('image', 'ls', '--format', 'json').trim().split('\n').map((l) => JSON.parse(l) as { Repository: string })
  t.same(ls.map((r) => r.Repository).sort(), ['base', 'one', 'two'])
})

t.test('bad input gets a clear error and leaves the store as it was', async (t) => {
  const { dir, run, fail } = setup(t)
  run('image', 'import', `${dir}/rootfs`, 'base:1')
  const snap = (): string => execFileSync('sh', ['-c', `cd ${dir}/store && find . -path ./lock -prune -o -print | sort && cat oci/index.json`], { encoding: 'utf8' })
  const before = snap()
  execFileSync('python3', ['-c', `import tarfile, io
t = tarfile.open('${dir}/evil.tar', 'w')
i = tarfile.TarInfo('../../escape'); i.size = 1; t.addfile(i, io.BytesIO(b'x'))
t.close()`])
  t.match(fail('image', 'import', `${dir}/evil.tar`, 'evil:1'), /"\.\." in entry "\.\.\/\.\.\/escape"/)
  fs.writeFileSync(`${dir}/trunc.tar.gz`, fs.readFileSync(`${dir}/rootfs.tar.gz`, { flag: 'a+' }).subarray(0, 0))
  execFileSync('sh', ['-c', `tar -C ${dir}/rootfs -czf - . | head -c 3000 > ${dir}/trunc.tar.gz`])
  t.match(fail('image', 'import', `${dir}/trunc.tar.gz`, 'trunc:1'), /truncated|corrupt/)
  t.match(fail('image', 'history', 'nosuch:1'), /no image nosuch:1 in the store/)
  t.match(fail('container', 'create', 'nosuch'), /no image nosuch:latest/)
  t.match(fail('mount', 'nosuch', `${dir}/mnt`), /no image nosuch:latest/)
  t.equal(snap(), before, 'nothing half-imported stays in the store')
  t.notOk(fs.existsSync(path.join(dir, '..', 'escape')))
  fs.writeFileSync(`${dir}/store/oci/index.json`, '{not json')
  t.match(fail('image', 'ls'), /store index .* is corrupt/)
})

t.test('commit of a mounted container holds its writes while the upper is read', async (t) => {
  const { dir, run } = setup(t)
  const { withMountPaused } = await import('../../src/fuse/pause-control.js')
  run('image', 'import', `${dir}/rootfs`, 'base:1')
  run('container', 'create', '--name', 'busy', 'base:1')
  run('mount', 'busy', `${dir}/mnt`)
  const { spawn } = await import('node:child_process')
  const writer = spawn('sh', ['-c', `while :; do echo line >> ${dir}/mnt/log; done`], { stdio: 'ignore' })
  t.teardown(() => { writer.kill('SIGKILL') })
  const upperLog = (): number => {
    const c = JSON.parse(run('container', 'inspect', 'busy'))[0]
    return fs.statSync(`${c.UpperDir}/log`, { throwIfNoEntry: false })?.size ?? 0
  }
  while (upperLog() === 0) await new Promise((r) => setTimeout(r, 20))
  const [during, later] = await withMountPaused(`${dir}/mnt`, async () => {
    const a = upperLog()
    await new Promise((r) => setTimeout(r, 500))
    return [a, upperLog()]
  })
  t.equal(later, during, 'no byte reaches the upper dir while paused')
  await new Promise((r) => setTimeout(r, 300))
  t.ok(upperLog() > later, 'writes go on after the pause')
  const id = run('commit', 'busy', 'busy:1').trim()
  t.match(id, /^sha256:/, 'commit of the mounted container succeeds')
  writer.kill('SIGKILL')
  await new Promise((r) => writer.on('exit', r))
  run('umount', `${dir}/mnt`)
  run('mount', 'busy:1', `${dir}/mnt2`)
  const text = fs.readFileSync(`${dir}/mnt2/log`, 'utf8')
  t.match(text, /^(line\n)+$/, 'the committed log is whole lines')
  run('umount', `${dir}/mnt2`)
})
