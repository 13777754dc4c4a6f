// Rootless strata: a plain user the test creates mounts through the setuid
// fusermount3, and root of a user namespace (`unshare -Urm`, what rootless
// podman does) mounts directly. Both read, write, copy up and white out;
// their mount state lives in a private dir of theirs, the overlay xattrs are
// the user.overlay.* forms (trusted.* is real root's), and nothing is written
// under root-only paths. The user also works an image store of their own.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mountsUnder } from '../fixtures/mount-overlay.js'

const repo = path.resolve(import.meta.dirname, '..', '..')
const strata = path.join(repo, 'bin', 'strata')

const fuseOpenToAll = (): boolean => (fs.statSync('/dev/fuse').mode & 0o006) === 0o006
/** Records under real root's run dir that name a path under `root` (other tests use that dir too). */
const runRecords = (root: string): string[] => {
  try { return fs.readdirSync('/run/strata/mounts').filter((n) => n.startsWith(encodeURIComponent(root))) } catch { return [] }
}
// `env -i`: tap adds NODE_OPTIONS hooks to every child, and a non-root daemon
// could not write their files in the worktree.
const clean = (env: Record<string, string>): string[] => ['env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)]
const xattrs = (p: string): string => spawnSync('getfattr', ['-h', '-d', '-m', '-', p], { encoding: 'utf8' }).stdout
const lsl = (p: string): fs.Stats => fs.lstatSync(p)

/** The overlay on disk after the standard work: the upper as the kernel would read it. */
function checkUpper (t: Test, u: string, owner: number): void {
  t.equal(fs.readFileSync(`${u}/new`, 'utf8'), 'new\n', 'a new file lands in the upper')
  t.equal(fs.readFileSync(`${u}/f`, 'utf8'), 'lower\nmore\n', 'an appended lower file is copied up')
  t.equal(lsl(`${u}/f`).uid, owner, 'owned by the caller')
  const wh = lsl(`${u}/d/g`)
  t.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a removed lower file leaves a 0/0 whiteout')
  t.match(xattrs(`${u}/f`), /user\.overlay\.strata\.origin=/, 'overlay xattrs are user.overlay.*')
  t.notMatch(xattrs(`${u}/d`), /trusted\./, 'and never trusted.*')
}

function layers (t: Test, owner: number): { root: string, l: string, u: string, w: string, m: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-rootless-'))
  fs.chmodSync(root, 0o755)
  const d = { root, l: `${root}/l`, u: `${root}/u`, w: `${root}/w`, m: `${root}/m` }
  for (const p of [d.l, `${d.l}/d`, d.u, d.w, d.m]) fs.mkdirSync(p)
  fs.writeFileSync(`${d.l}/f`, 'lower\n')
  fs.writeFileSync(`${d.l}/d/g`, 'g\n')
  fs.writeFileSync(`${d.l}/gone`, 'x\n')
  spawnSync('chown', ['-R', `${owner}:${owner}`, root])
  t.teardown(() => {
    for (const mp of mountsUnder(root).reverse()) spawnSync('umount', ['-l', mp])
    spawnSync('rm', ['-rf', '--one-file-system', root])
  })
  return d
}

// What a user does through the mount, in a shell of theirs (root cannot
// enter a user's FUSE mount: it is not allow_other).
const work = (m: string): string => [
  `test "$(cat ${m}/f)" = lower`, `echo new > ${m}/new`, `echo more >> ${m}/f`, `rm ${m}/d/g ${m}/gone`,
  `test ! -e ${m}/gone`, `test "$(ls ${m}/d)" = ""`, `test "$(cat ${m}/f)" = "$(printf 'lower\\nmore')"`,
].join(' && ')

t.test('a plain user mounts through fusermount3', async (t) => {
  if (!fuseOpenToAll()) { t.plan(0, '/dev/fuse is not open to users (scripts/setup makes it 0666, as Debian udev does)'); return }
  const name = `strl${process.pid % 100000}`
  const add = spawnSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/bin/sh', name], { encoding: 'utf8' })
  t.equal(add.status, 0, `useradd ${name} ${add.stderr}`)
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout)
  const d = layers(t, uid)
  const home = `${d.root}/home`
  fs.mkdirSync(home)
  fs.chownSync(home, uid, uid)
  t.teardown(() => {
    spawnSync('rm', ['-rf', `/tmp/strata-${uid}`])
    spawnSync('userdel', [name])
  })
  const env = { PATH: process.env.PATH!, HOME: home, LANG: 'C' }
  const as = (script: string, extra: Record<string, string> = {}): SpawnSyncReturns<string> => {
    const [cmd, ...args] = [...clean({ ...env, ...extra }), 'setpriv', '--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'sh', '-c', script]
    return spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000 })
  }
  const L = `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w}`

  let r = as(`${strata} -o ${L} ${d.m} && ${work(d.m)} && grep " ${d.m} " /proc/self/mounts && ls /tmp/strata-${uid}/mounts && fusermount3 -u ${d.m}`)
  t.equal(r.status, 0, `mount, work, fusermount3 -u (${r.stderr.trim()})`)
  t.match(r.stdout, /fuse\.strata \S*nosuid,nodev/, 'a user mount is nosuid,nodev (fusermount3)')
  t.match(r.stdout, encodeURIComponent(d.m), 'its record is under /tmp/strata-UID')
  t.same(mountsUnder(d.root), [], 'unmounted')
  checkUpper(t, d.u, uid)

  // strata umount as the user goes through fusermount3 too; XDG_RUNTIME_DIR holds the state.
  const xdg = `${d.root}/xdg`
  fs.mkdirSync(xdg, { mode: 0o700 })
  fs.chownSync(xdg, uid, uid)
  r = as(`${strata} -o ${L} ${d.m} && test "$(cat ${d.m}/new)" = new && ls ${xdg}/strata/mounts && ${strata} umount ${d.m}`, { XDG_RUNTIME_DIR: xdg })
  t.equal(r.status, 0, `remount, strata umount (${r.stderr.trim()})`)
  t.same(mountsUnder(d.root), [], 'unmounted')
  t.same(runRecords(d.root), [], 'nothing written under /run/strata')

  // mkdir as a non-root caller waits for the posix branch (ll_mkdir's uid/gid).
  r = as(`${strata} -o ${L} ${d.m}; mkdir ${d.m}/made; s=$?; fusermount3 -u ${d.m}; exit $s`)
  t.equal(r.status, 0, `mkdir as the user (${r.stderr.trim()})`)
  t.same(mountsUnder(d.root), [], 'unmounted')

  // The image commands on a store of the user's own.
  fs.mkdirSync(`${d.root}/rootfs/bin`, { recursive: true })
  fs.copyFileSync('/bin/busybox', `${d.root}/rootfs/bin/busybox`)
  fs.chmodSync(`${d.root}/rootfs/bin/busybox`, 0o755)
  fs.writeFileSync(`${d.root}/rootfs/hello`, 'hello\n')
  spawnSync('chown', ['-R', `${uid}:${uid}`, `${d.root}/rootfs`])
  r = as([
    `${strata} image import ${d.root}/rootfs rl:1`, `${strata} container create --name rl rl:1`,
    `${strata} mount rl ${d.m}`, `echo changed > ${d.m}/hello`, `${strata} umount ${d.m}`,
    `${strata} commit rl rl:2`, `${strata} image save -o ${d.root}/rl.tar rl:2`, `${strata} image ls`,
  ].join(' && '))
  t.equal(r.status, 0, `import, create, mount, commit, save as the user (${r.stderr.trim()})`)
  t.match(r.stdout, /rl\s+2/)
  t.ok(fs.existsSync(`${home}/.local/share/strata/oci`), 'the store is ~/.local/share/strata')
  t.ok(fs.statSync(`${d.root}/rl.tar`).size > 0, 'and the saved archive exists')
  t.same(mountsUnder(d.root), [], 'unmounted')
})

t.test('root of a user namespace (unshare -Urm) mounts', async (t) => {
  const d = layers(t, 0)
  const state = `${d.root}/state`
  const L = `lowerdir=${d.l},upperdir=${d.u},workdir=${d.w}`
  fs.mkdirSync(state, { mode: 0o700 })
  const [cmd, ...args] = [...clean({ PATH: process.env.PATH!, XDG_RUNTIME_DIR: state }), 'unshare', '-Urm', 'sh', '-c',
    `${strata} -o ${L} ${d.m} && ${work(d.m)} && ls ${state}/strata/mounts && umount ${d.m}`]
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000 })
  t.match(r.stdout, encodeURIComponent(d.m), 'its record is under $XDG_RUNTIME_DIR/strata')
  t.equal(r.status, 0, `mount, work, umount inside the namespace (${r.stderr.trim()})`)
  t.same(mountsUnder(d.root), [], 'unmounted')
  checkUpper(t, d.u, 0)
  t.same(runRecords(d.root), [], 'nothing written under /run/strata')
})
