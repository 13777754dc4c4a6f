// The real podman (Debian's, with runc) using this worktree's bin/strata as
// containers/storage's mount_program, on a storage and engine config this
// test writes into a temp dir: import a busybox rootfs, run, commit, build a
// Dockerfile with RUN steps and a non-root USER that creates files, rename
// a directory of the image through `podman mount`, save and load, and buildah
// on the same store, and a container mounted by a spare daemon. Teardown removes every container, image and mount the
// test's podman made (podman's own commands, same config), so no mount and
// no process is left. Skipped only where podman cannot run at all.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mountsUnder } from '../fixtures/mount-overlay.js'
import { endSpares, waitingSpares } from '../../src/fuse/spare-processes.js'

const repo = path.resolve(import.meta.dirname, '..', '..')
const strata = path.join(repo, 'bin', 'strata')
// No CAP_SYS_RESOURCE here, and no network.
const RUN = ['--network', 'none', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096']

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-podman-'))
for (const d of ['graph', 'run', 'tmp', 'ctx', 'rootfs/bin']) fs.mkdirSync(`${dir}/${d}`, { recursive: true })
fs.writeFileSync(`${dir}/storage.conf`, `[storage]
driver = "overlay"
graphroot = "${dir}/graph"
runroot = "${dir}/run"
[storage.options.overlay]
mount_program = "${strata}"
`)
fs.writeFileSync(`${dir}/containers.conf`, `[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${dir}/events.log"
tmp_dir = "${dir}/tmp"
[containers]
netns = "none"
`)
const env = { ...process.env, CONTAINERS_STORAGE_CONF: `${dir}/storage.conf`, CONTAINERS_CONF: `${dir}/containers.conf`, TMPDIR: `${dir}/tmp` }
const tool = (cmd: string, args: string[], input?: string): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 300000, input })
const podman = (...args: string[]): SpawnSyncReturns<string> => tool('podman', args)
const ok = (t: Test, r: SpawnSyncReturns<string>, what: string): string => {
  t.equal(r.status, 0, `${what}${r.status === 0 ? '' : ': ' + (r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' / ')}`)
  return r.stdout
}

t.teardown(() => {
  podman('rm', '-a', '-f')
  podman('umount', '-a', '-f')
  tool('buildah', ['rm', '-a'])
  podman('system', 'reset', '-f')
  for (const mp of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', mp])
  spawnSync('rm', ['-rf', '--one-file-system', dir])
})

const info = podman('info', '--format', '{{.Store.GraphDriverName}}')
if (info.status !== 0) {
  t.plan(0, `podman cannot run here: ${(info.stderr || String(info.error)).trim()}`)
} else {
  // A busybox rootfs, as a tarball podman imports.
  fs.copyFileSync('/bin/busybox', `${dir}/rootfs/bin/busybox`)
  fs.chmodSync(`${dir}/rootfs/bin/busybox`, 0o755)
  for (const x of ['sh', 'echo', 'cat', 'ls', 'id', 'mkdir', 'touch', 'mv', 'stat', 'grep', 'true', 'chown']) fs.symlinkSync('busybox', `${dir}/rootfs/bin/${x}`)
  fs.mkdirSync(`${dir}/rootfs/etc`)
  fs.writeFileSync(`${dir}/rootfs/etc/passwd`, 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n')
  fs.writeFileSync(`${dir}/rootfs/etc/group`, 'root:x:0:\napp:x:1000:\n')
  fs.mkdirSync(`${dir}/rootfs/data/sub`, { recursive: true })
  fs.writeFileSync(`${dir}/rootfs/data/sub/file`, 'in the image\n')
  spawnSync('tar', ['-C', `${dir}/rootfs`, '-cf', `${dir}/rootfs.tar`, '.'])

  t.test('import, run, commit', async (t) => {
    t.equal(info.stdout.trim(), 'overlay')
    ok(t, podman('import', `${dir}/rootfs.tar`, 'localhost/sbb:1'), 'podman import')
    const out = ok(t, podman('run', '--rm', ...RUN, 'localhost/sbb:1', 'sh', '-c', 'grep " / " /proc/mounts; cat /data/sub/file; id -u'), 'podman run')
    t.match(out, /^strata \/ fuse\.strata /m, 'the container root is a strata mount')
    t.match(out, /in the image\n0\n/)
    ok(t, podman('run', '--name', 'sbb-c1', ...RUN, 'localhost/sbb:1', 'sh', '-c', 'echo changed > /data/sub/file && echo new > /new && rm /bin/true'), 'a run that writes')
    ok(t, podman('commit', 'sbb-c1', 'localhost/sbb:2'), 'podman commit')
    ok(t, podman('rm', 'sbb-c1'), 'podman rm')
    const after = ok(t, podman('run', '--rm', ...RUN, 'localhost/sbb:2', 'sh', '-c', 'cat /data/sub/file /new; ls /bin/true || echo no-true'), 'run the commit')
    t.match(after, /changed\nnew\n/)
    t.match(after, /no-true/, 'the removal is a whiteout in the committed layer')
    t.same(mountsUnder(`${dir}/graph`), [], 'no mount left after --rm and rm')
  })

  t.test('build: RUN steps, a non-root USER that creates files', async (t) => {
    fs.writeFileSync(`${dir}/ctx/Dockerfile`, [
      'FROM localhost/sbb:2',
      'RUN mkdir -p /home/app && chown app:app /home/app && echo built > /built',
      'USER app',
      'RUN touch /home/app/by-app && id -u > /home/app/uid',
      // mkdir as a non-root caller: the directory's owner waits for the posix branch
      'RUN mkdir /home/app/made; touch /home/app/made/inside; true',
    ].join('\n') + '\n')
    ok(t, podman('build', ...RUN, '-t', 'localhost/sbb:3', `${dir}/ctx`), 'podman build')
    const out = ok(t, podman('run', '--rm', ...RUN, '--user', '0', 'localhost/sbb:3', 'sh', '-c',
      'cat /built /home/app/uid; stat -c "%n %u:%g" /home/app/by-app /home/app/made /home/app/made/inside; true'), 'run the build')
    t.match(out, /built\n1000\n/)
    t.match(out, /\/home\/app\/by-app 1000:1000/, 'a file the USER made is the USER\'s')
    t.match(out, /\/home\/app\/made 1000:1000/, 'a directory the USER made is the USER\'s')
    t.match(out, /\/home\/app\/made\/inside 1000:1000/, 'and the USER can create files in it')
  })

  t.test('rename(2) of a directory of the image, through podman mount', async (t) => {
    ok(t, podman('create', '--name', 'sbb-ren', ...RUN, 'localhost/sbb:1', 'true'), 'podman create')
    const merged = ok(t, podman('mount', 'sbb-ren'), 'podman mount').trim()
    t.ok(merged.startsWith(`${dir}/graph`), `merged dir ${merged}`)
    // containers/storage diffs the upper itself and asks for no redirect_dir:
    // strata then does what the kernel's module default does (off on Debian:
    // EXDEV, and mv copies), as kernel overlayfs and fuse-overlayfs would.
    const redirects = fs.readFileSync('/sys/module/overlay/parameters/redirect_dir', 'utf8').trim() === 'Y'
    let err: unknown = null
    try { fs.renameSync(`${merged}/data`, `${merged}/data-renamed`) } catch (e) { err = e }
    t.equal((err as { code?: string } | null)?.code, redirects ? undefined : 'EXDEV', 'rename(2) of a lower directory: the kernel default\'s answer')
    if (err) t.equal(spawnSync('mv', [`${merged}/data`, `${merged}/data-renamed`]).status, 0, 'mv moves it all the same (it copies on EXDEV)')
    const names = fs.readdirSync(merged)
    ok(t, podman('umount', 'sbb-ren'), 'podman umount')
    t.ok(names.includes('data') !== names.includes('data-renamed'), 'one name or the other, never both')
    ok(t, podman('rm', 'sbb-ren'), 'podman rm')
  })

  t.test('save and load', async (t) => {
    ok(t, podman('save', '-o', `${dir}/sbb3.tar`, 'localhost/sbb:3'), 'podman save')
    ok(t, podman('rmi', 'localhost/sbb:3'), 'podman rmi')
    ok(t, podman('load', '-i', `${dir}/sbb3.tar`), 'podman load')
    const out = ok(t, podman('run', '--rm', ...RUN, 'localhost/sbb:3', 'cat', '/built', '/home/app/uid'), 'run the loaded image')
    t.equal(out, 'built\n1000\n')
  })

  t.test('run --uidmap: strata maps owners as fuse-overlayfs does (uidmapping= from containers/storage)', async (t) => {
    // The same image and commands on a second store whose mount_program is
    // fuse-overlayfs, the oracle for what containers/storage expects.
    const fo = spawnSync('sh', ['-c', 'command -v fuse-overlayfs'], { encoding: 'utf8' }).stdout.trim()
    if (!fo) { t.plan(0, 'fuse-overlayfs is not installed'); return }
    fs.mkdirSync(`${dir}/fo-graph`)
    fs.writeFileSync(`${dir}/fo-storage.conf`, fs.readFileSync(`${dir}/storage.conf`, 'utf8')
      .replace(`${dir}/graph`, `${dir}/fo-graph`).replace(`${dir}/run`, `${dir}/fo-run`).replace(`"${strata}"`, `"${fo}"`))
    // Its own engine config too: system reset empties the engine's tmp_dir.
    fs.mkdirSync(`${dir}/fo-tmp`)
    fs.writeFileSync(`${dir}/fo-containers.conf`, fs.readFileSync(`${dir}/containers.conf`, 'utf8')
      .replace(`${dir}/tmp`, `${dir}/fo-tmp`).replace(`${dir}/events.log`, `${dir}/fo-events.log`))
    const foEnv = { ...env, CONTAINERS_STORAGE_CONF: `${dir}/fo-storage.conf`, CONTAINERS_CONF: `${dir}/fo-containers.conf`, TMPDIR: `${dir}/fo-tmp` }
    // No /etc in this image: runc makes its mountpoints there as the mapped root.
    fs.mkdirSync(`${dir}/maproot`)
    spawnSync('cp', ['-a', `${dir}/rootfs/bin`, `${dir}/rootfs/data`, `${dir}/maproot/`])
    spawnSync('chown', ['-R', '7:8', `${dir}/maproot/data/sub`])
    spawnSync('tar', ['-C', `${dir}/maproot`, '-cf', `${dir}/maproot.tar`, '.'])
    t.teardown(() => {
      spawnSync('podman', ['rm', '-a', '-f'], { env: foEnv })
      spawnSync('podman', ['system', 'reset', '-f'], { env: foEnv })
    })
    const script = 'id; ls -ln /data /data/sub; echo x > /made; mkdir -p /data/sub/new; ls -ln /made /data/sub; cat /proc/self/uid_map'
    const outputs: string[] = []
    for (const e of [env, foEnv]) {
      const sys = e === env ? 'strata' : 'fuse-overlayfs'
      const im = spawnSync('podman', ['import', `${dir}/maproot.tar`, 'localhost/sbb:map'], { encoding: 'utf8', env: e, timeout: 300000 })
      ok(t, im, `import (${sys})`)
      const r = spawnSync('podman', ['run', '--rm', ...RUN, '--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', 'localhost/sbb:map', 'sh', '-c', script],
        { encoding: 'utf8', env: e, timeout: 300000 })
      outputs.push(ok(t, r, `podman run --uidmap (${sys})`).replace(/ (\w{3} [ \d]\d \d\d:\d\d) /g, ' TIME '))
    }
    t.match(outputs[0], /^\s+0\s+100000\s+65536$/m, 'the container runs in its user namespace')
    t.match(outputs[0], /-rw-r--r--\s+1 0\s+0\s.* \/made/, 'a file the container\'s root makes is its root\'s')
    t.equal(outputs[0], outputs[1], 'owners, modes and listings as fuse-overlayfs shows them')
  })

  t.test('buildah on the same store', async (t) => {
    if (spawnSync('buildah', ['--version']).status !== 0) { t.plan(0, 'buildah is not installed'); return }
    const ctr = ok(t, tool('buildah', ['from', 'localhost/sbb:2']), 'buildah from').trim()
    ok(t, tool('buildah', ['run', '--network', 'none', ctr, 'sh', '-c', 'echo from-buildah > /bh']), 'buildah run')
    ok(t, tool('buildah', ['commit', ctr, 'localhost/sbb:bh']), 'buildah commit')
    ok(t, tool('buildah', ['rm', ctr]), 'buildah rm')
    const out = ok(t, podman('run', '--rm', ...RUN, 'localhost/sbb:bh', 'cat', '/bh', '/new'), 'podman runs the buildah image')
    t.equal(out, 'from-buildah\nnew\n')
    t.same(mountsUnder(`${dir}/graph`), [], 'no mount left')
  })

  t.test('a container started after another is mounted by a spare daemon', async (t) => {
    // Spares are off for the suite (test/fixtures/suite-env.mjs): on here,
    // with a run dir of this test's, whose spares it ends by PID.
    const run = `${dir}/strata-run`
    const spEnv = { ...env, STRATA_SPARE: '1', STRATA_RUN_DIR: run }
    t.teardown(async () => {
      spawnSync('podman', ['rm', '-f', 'sbb-spare'], { env: spEnv })
      await endSpares(run)
    })
    const sp = (...args: string[]): SpawnSyncReturns<string> => spawnSync('podman', args, { encoding: 'utf8', env: spEnv, timeout: 300000 })
    ok(t, sp('run', '--rm', ...RUN, 'localhost/sbb:1', 'true'), 'a first container (its mount boots a spare as it ends)')
    const deadline = Date.now() + 15000
    while (!waitingSpares(run).length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    const [spare] = waitingSpares(run)
    t.ok(spare, 'a spare waits')
    ok(t, sp('run', '-d', '--name', 'sbb-spare', ...RUN, 'localhost/sbb:2', 'busybox', 'sleep', '60'), 'a second container, in the background')
    const records = fs.readdirSync(`${run}/mounts`).filter((n) => n.endsWith('.json'))
    t.equal(records.length, 1, 'one strata mount')
    if (records.length !== 1) return
    const rec = JSON.parse(fs.readFileSync(`${run}/mounts/${records[0]}`, 'utf8')) as { pid: number, mountpoint: string }
    t.equal(rec.pid, spare, 'its daemon is the spare that waited')
    t.equal(ok(t, sp('exec', 'sbb-spare', 'cat', '/data/sub/file', '/new'), 'podman exec'), 'changed\nnew\n', 'the container sees its image')
    ok(t, sp('rm', '-f', 'sbb-spare'), 'podman rm -f')
    t.notOk(mountsUnder(`${dir}/graph`).includes(rec.mountpoint), 'its mount is gone')
  })
}
