// Attributes of upper directories, which strata's loop threads answer
// natively (GETATTR, SETATTR, xattr reads on the directory's own fd) with
// the link count the union hands down (native/fast-nodes.h): a merged
// directory counts its subdirectories in every layer, and that count must
// follow every mkdir, rmdir, rename and copy-up at once, with no JS round
// trip in between (STATFS too, of the upper's filesystem). Kernel overlayfs is the oracle for every other attribute
// after every step (it shows 1 link for any merged directory); the link
// count must be 2 + the subdirectories a listing of the mount shows. A
// debug log shows the answers did not come from JS.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { strataUnion, type Tree, type Union } from '../fixtures/strata-union.js'
import type { Impl } from '../fixtures/mount-overlay.js'

// Our own run dir: the debug log of the mount is kept there (non-empty
// logs outlive their mount), not in the host's /run/strata.
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-upper-dir-run-'))
process.env.STRATA_RUN_DIR = runDir
t.teardown(() => { fs.rmSync(runDir, { recursive: true, force: true }) })

const LAYERS: Tree[] = [
  { merged: { top: 't', a: { x: 'x' } }, f: 'f' },
  { merged: { bottom: 'b', b: { y: 'y' }, c: {} }, lower: { d: {}, e: 'e' } },
]

const DIRS = ['', 'merged', 'merged/a', 'merged/b', 'lower', 'new', 'new/sub', 'merged/made']

/**
 * What stat(1) and getfattr(1) show of each directory there is (a fresh
 * process each), and separately its st_nlink and its subdirectory count.
 */
function attrs (mnt: string, mtimes: string[] = []): { shown: Record<string, string>, links: Record<string, string> } {
  const shown: Record<string, string> = {}
  const links: Record<string, string> = {}
  for (const d of DIRS) {
    const p = path.join(mnt, d)
    // Times only of the dirs a step set them on: the two mounts make and
    // change entries a moment apart, which may be a second apart.
    const st = spawnSync('stat', ['-c', `%F %a %u:%g${mtimes.includes(d) ? ' mtime=%Y' : ''}|%h`, p], { encoding: 'utf8' })
    if (st.status !== 0) { shown[d || '/'] = 'absent'; continue }
    const [what, nlink] = st.stdout.trim().split('|')
    const x = spawnSync('getfattr', ['-d', '-m', '^user\\.', '--absolute-names', p], { encoding: 'utf8' })
    shown[d || '/'] = what + ' ' + x.stdout.split('\n').filter((l) => l.startsWith('user.')).join(',')
    const subdirs = spawnSync('find', [p, '-mindepth', '1', '-maxdepth', '1', '-type', 'd'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length
    links[d || '/'] = `nlink ${nlink} for ${subdirs} subdirs`
  }
  return { shown, links }
}

const twoPlus = (links: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(links).map(([d, l]) => [d, l.replace(/nlink \d+/, `nlink ${2 + Number(/for (\d+)/.exec(l)![1])}`)]))

const sh = (cwd: string, script: string): void => {
  const r = spawnSync('sh', ['-ec', script], { cwd, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${script}: ${r.stderr}`)
}

// Each step is a shell line run in the mount point, on both mounts alike.
const STEPS: Array<[string, string, string[]?]> = [
  ['first look', 'true'],
  ['mkdir in the root (merged: nlink counts it)', 'mkdir new'],
  ['mkdir in an upper-only dir', 'mkdir new/sub'],
  ['mkdir in a merged dir', 'mkdir merged/made'],
  ['rmdir of a lower subdir (a whiteout)', 'rmdir merged/c'],
  ['rmdir of an upper-only subdir', 'rmdir new/sub'],
  ['mkdir over a whiteout (opaque)', 'mkdir merged/c && mkdir new/sub'],
  ['rename a subdir between merged dirs', 'mv merged/b lower/b2'],
  ['rename it back', 'mv lower/b2 merged/b'],
  ['rename an upper dir into the root', 'mv new/sub top-sub'],
  ['chmod, chown and times of dirs', 'chmod 0750 merged && chown 7:8 . && chmod 2775 new && touch -m -d @1000000000 merged new . && touch -m -d @1200000000 merged/a', ['', 'merged', 'new', 'merged/a']],
  ['xattrs on dirs', 'setfattr -n user.k -v one . && setfattr -n user.k -v two merged && setfattr -n user.j -v three new'],
  ['xattr removed', 'setfattr -x user.k merged'],
  ['a file made in the root and removed', 'echo n > nf && rm nf f'],
  ['rmdir of the moved one', 'rmdir top-sub'],
]

t.test('upper directories show what kernel overlayfs shows after every change', async (t) => {
  const u: Record<Impl, Union> = {} as Record<Impl, Union>
  for (const impl of ['kernel', 'strata'] as Impl[]) u[impl] = await strataUnion(t, LAYERS, undefined, impl)
  // Inode numbers differ between the two by design; each must be stable.
  const inos = (mnt: string): string => ['', 'merged', 'new'].map((d) => { try { return fs.statSync(path.join(mnt, d)).ino } catch { return '-' } }).join(' ')
  const firstIno = inos(u.strata.mnt)
  for (const [what, script, mtimes] of STEPS) {
    for (const impl of ['kernel', 'strata'] as Impl[]) sh(u[impl].mnt, script)
    const got = attrs(u.strata.mnt, mtimes)
    t.same(got.shown, attrs(u.kernel.mnt, mtimes).shown, `after: ${what}`)
    t.same(got.links, twoPlus(got.links), `after: ${what}: st_nlink is 2 + subdirs`)
  }
  t.equal(inos(u.strata.mnt).split(' ').slice(0, 2).join(' '), firstIno.split(' ').slice(0, 2).join(' '), 'the root and a merged dir keep their st_ino throughout')
})

/** The JS requests a debug mount's log shows for node `ino`, by opcode. */
function jsRequests (logText: string, op: string, ino: number): number {
  return logText.split('\n').filter((l) => l.startsWith(`strata: ${op} ino=${ino} `)).length
}

t.test('a merged root stat after each mkdir, a chown of it and statfs are answered without JS', async (t) => {
  const u = await strataUnion(t, LAYERS, undefined, 'strata', 'debug')
  const log = path.join(runDir, 'mounts', encodeURIComponent(u.mnt) + '.log')
  // The first look registers the root with the loop threads.
  t.equal(fs.statSync(u.mnt).nlink, 2 + 2, 'root: 2 + its subdirs in both layers (merged, lower)')
  const before = fs.readFileSync(log, 'utf8')
  const seen: number[] = []
  for (let i = 0; i < 5; i++) {
    fs.mkdirSync(path.join(u.mnt, `d${i}`))
    seen.push(fs.statSync(u.mnt).nlink)
  }
  fs.chownSync(u.mnt, 3, 4)
  fs.chmodSync(u.mnt, 0o711)
  const st = fs.statSync(u.mnt)
  t.same(seen, [5, 6, 7, 8, 9], 'st_nlink follows each mkdir at once')
  t.same([st.uid, st.gid, st.mode & 0o7777], [3, 4, 0o711], 'chown and chmod of the root took effect')
  const during = fs.readFileSync(log, 'utf8').slice(before.length)
  t.equal(jsRequests(during, 'MKDIR', 1), 5, 'the log shows the mkdirs (JS makes them)')
  t.equal(jsRequests(during, 'GETATTR', 1), 0, 'no GETATTR of the root reached JS')
  t.equal(jsRequests(during, 'SETATTR', 1), 0, 'no SETATTR of the root reached JS')
  // statfs(2), as every container start makes: the upper's filesystem, natively.
  const fsOf = (p: string): string => spawnSync('stat', ['-f', '-c', '%b %S %s %c %l', p], { encoding: 'utf8' }).stdout.trim()
  t.equal(fsOf(u.mnt), fsOf(u.upper), 'statfs shows the upper\'s filesystem')
  t.equal(fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('strata: STATFS')).length, 0, 'no STATFS reached JS')
})

t.test('static_nlink: an upper directory answered natively shows 1 link, as fuse-overlayfs', async (t) => {
  const u = await strataUnion(t, LAYERS, undefined, 'strata', 'static_nlink')
  const seen = [fs.statSync(u.mnt).nlink]
  fs.mkdirSync(path.join(u.mnt, 'n'))
  seen.push(fs.statSync(u.mnt).nlink, fs.statSync(path.join(u.mnt, 'n')).nlink)
  fs.chmodSync(u.mnt, 0o750)
  seen.push(fs.statSync(u.mnt).nlink)
  t.same(seen, [1, 1, 1, 1])
})
