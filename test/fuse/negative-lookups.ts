// Negative LOOKUPs answered by the loop threads (native/fast-nodes.cc): in
// an upper directory with no lower part (made through the mount, or opaque)
// a name the upper dir lacks is in no layer, and the answer needs no JS. A
// whiteout there is JS's to read (the rule lives in whiteout.ts only). In a
// merged directory the lowers may have the name, so JS answers. The debug log tells which one answered; what a
// process sees must be what the kernel's overlayfs shows either way.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { strataUnion, type Tree } from '../fixtures/strata-union.js'

// Our own run dir: the debug log of the mount is kept there.
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-neg-lookup-run-'))
process.env.STRATA_RUN_DIR = runDir
t.teardown(() => { fs.rmSync(runDir, { recursive: true, force: true }) })

const LAYERS: Tree[] = [{ merged: { low: 'l' }, opq: { gone: 'lower', hidden: 'lower' } }]

/** An opaque upper dir over the lower's opq/, with a whiteout at opq/gone. */
function prepare (lowers: string[]): void {
  const opq = path.join(path.dirname(lowers[0]), 'upper', 'opq')
  fs.mkdirSync(opq, { recursive: true })
  const x = spawnSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', opq], { encoding: 'utf8' })
  const w = spawnSync('mknod', [path.join(opq, 'gone'), 'c', '0', '0'], { encoding: 'utf8' })
  if (x.status !== 0 || w.status !== 0) throw new Error(`preparing the upper: ${x.stderr}${w.stderr}`)
}

const exists = (p: string): boolean => fs.existsSync(p)

t.test('a name missing from an upper-only directory is answered without JS, and right', async (t) => {
  const u = await strataUnion(t, LAYERS, prepare, 'strata', 'debug')
  const k = await strataUnion(t, LAYERS, prepare, 'kernel')
  const log = path.join(runDir, 'mounts', encodeURIComponent(u.mnt) + '.log')
  const jsLookups = (text: string, name: string): number =>
    text.split('\n').filter((l) => l.startsWith('strata: LOOKUP ') && l.includes(`name=${JSON.stringify(name)}`)).length

  for (const m of [u.mnt, k.mnt]) {
    fs.mkdirSync(path.join(m, 'new'))
    fs.writeFileSync(path.join(m, 'merged', 'made'), 'x') // the root's merged/ gets an upper part
  }
  // The first look at each directory registers it with the loop threads.
  for (const d of ['new', 'opq', 'merged']) fs.statSync(path.join(u.mnt, d))
  const before = fs.readFileSync(log, 'utf8').length
  const probes = ['new/absent', 'opq/gone', 'opq/hidden', 'opq/absent', 'merged/low', 'merged/absent']
  const seen = probes.map((p) => `${p} ${exists(path.join(u.mnt, p))}`)
  t.same(seen, probes.map((p) => `${p} ${exists(path.join(k.mnt, p))}`), 'strata shows what kernel overlayfs shows')
  t.same(seen.filter((s) => s.endsWith('true')), ['merged/low true'], 'only the lower file of the merged dir exists')
  const during = fs.readFileSync(log, 'utf8').slice(before)
  t.equal(jsLookups(during, 'gone'), 1, 'opq/gone (a whiteout in the upper dir) is JS\'s to read')
  t.equal(jsLookups(during, 'hidden'), 0, 'opq/hidden (under the opaque dir): no LOOKUP reached JS')
  // new/absent and opq/absent natively; merged/absent by JS.
  t.equal(jsLookups(during, 'absent'), 1, 'of the three absent names only the merged dir\'s reached JS')
  t.equal(jsLookups(during, 'low'), 1, 'a name in a merged dir is JS\'s to look up (the lowers have it)')

  // A name answered negatively can be made at once, and is then found.
  fs.writeFileSync(path.join(u.mnt, 'new', 'absent'), 'now')
  fs.writeFileSync(path.join(u.mnt, 'opq', 'gone'), 'back')
  t.equal(fs.readFileSync(path.join(u.mnt, 'new', 'absent'), 'utf8'), 'now', 'made after a negative answer')
  t.equal(fs.readFileSync(path.join(u.mnt, 'opq', 'gone'), 'utf8'), 'back', 'made over the whiteout')
  t.same(fs.readdirSync(path.join(u.mnt, 'opq')).sort(), ['gone'], 'the opaque dir lists only what was made in it')
})
