// Lookups of a walked directory answered from the native entry index
// (src/fuse/entry-index.ts, native/entry-index.h): the kernel lists a big
// directory's tail without attributes, and once it looks up one of those
// names JS makes the others' entries at once, which the loop threads then
// hand out. Kernel overlayfs is the oracle for every answer, over two
// lowers with whiteouts and an opaque dir in the top one; the debug log
// shows that the walk's lookups did not reach JS.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { strataUnion, type Tree } from '../fixtures/strata-union.js'

const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-entry-index-run-'))
process.env.STRATA_RUN_DIR = runDir
t.teardown(() => { fs.rmSync(runDir, { recursive: true, force: true }) })

// Long names: a READDIRPLUS reply (32 KiB) then holds ~150 of them, so most
// of each directory reaches the kernel through plain READDIRs.
const name = (stem: string, i: number): string => `${stem}-with-a-longer-name-${String(i).padStart(4, '0')}`
const files = (stem: string, n: number, body: (i: number) => string): Tree =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [name(stem, i), body(i)]))

const BIG = 1500
const LAYERS: Tree[] = [
  // top: overrides some of big/, adds its own; opq/ is opaque over the lower's.
  { big: { ...files('file', 100, (i) => 'top'.repeat(i + 1)), ...files('new', 300, () => 'n') }, opq: files('mine', 600, (i) => 'm'.repeat(i % 9)) },
  // huge/ is more than one window of entries made at a time (4096).
  { big: { ...files('file', BIG, (i) => 'x'.repeat(i % 13)), subdir: { inner: 'i' } }, opq: files('hidden', 600, () => 'h'), huge: files('huge', 5000, () => '') },
]
/** Every 7th of the lower's big/ files whited out (char 0/0) in the top lower, and opq/ opaque. */
const WHITED = Array.from({ length: BIG }, (_, i) => i).filter((i) => i >= 100 && i % 7 === 0).map((i) => name('file', i))

function prepare (lowers: string[]): void {
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
  }
  for (const w of WHITED) run('mknod', [path.join(lowers[0], 'big', w), 'c', '0', '0'])
  run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(lowers[0], 'opq')])
}

/** Each name's type, size and mode, or its errno: what a walker would see. */
function look (dir: string, names: string[]): string[] {
  return names.map((n) => {
    try {
      const s = fs.lstatSync(path.join(dir, n))
      return `${n} ${s.isDirectory() ? 'd' : s.isFile() ? 'f' : 'o'} ${s.isDirectory() ? '-' : s.size} ${(s.mode & 0o7777).toString(8)}`
    } catch (err) {
      return `${n} ${(err as NodeJS.ErrnoException).code}`
    }
  })
}

const walk = (mnt: string): string => {
  const r = spawnSync('find', [mnt, '-printf', '%P %y %s %m\n'], { encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.status !== 0) throw new Error(`find: ${r.stderr}`)
  return r.stdout.split('\n').sort().join('\n')
}

t.test('a walked directory is looked up from the index, and answers as the kernel does', async (t) => {
  const u = await strataUnion(t, LAYERS, prepare, 'strata', 'debug')
  const k = await strataUnion(t, LAYERS, prepare, 'kernel')
  const log = path.join(runDir, 'mounts', encodeURIComponent(u.mnt) + '.log')
  const since = (at: number): string => fs.readFileSync(log, 'utf8').slice(at)
  const jsLookups = (text: string, stem: string): number =>
    text.split('\n').filter((l) => l.startsWith('strata: LOOKUP ') && l.includes(`name="${stem}-with-`)).length

  const at = fs.readFileSync(log, 'utf8').length
  t.equal(walk(u.mnt), walk(k.mnt), 'find shows the tree kernel overlayfs shows')
  const during = since(at)
  t.ok(/^strata: READDIR ino=/m.test(during), 'the kernel read the big directories\' tails without attributes')
  const listedBig = fs.readdirSync(path.join(k.mnt, 'big')).length
  t.ok(listedBig > 1500, `big/ has ${listedBig} names`)
  // Without the index each name past the first READDIRPLUS is a JS LOOKUP
  // (over 1500 here); with it, one per directory starts the index.
  t.ok(jsLookups(during, 'file') + jsLookups(during, 'new') <= 3, `big/'s walk: ${jsLookups(during, 'file') + jsLookups(during, 'new')} LOOKUPs reached JS`)
  t.ok(jsLookups(during, 'mine') <= 3, `opq/'s walk: ${jsLookups(during, 'mine')} LOOKUPs reached JS`)
  // One to start each window of 4096 names, and perhaps the one after it.
  t.ok(jsLookups(during, 'huge') <= 4, `huge/'s walk (5000 names): ${jsLookups(during, 'huge')} LOOKUPs reached JS`)

  // Whited-out and opaque-hidden names are absent on both.
  const absent = [...WHITED.slice(0, 40), ...Array.from({ length: 40 }, (_, i) => name('hidden', i * 15))]
  t.same(look(path.join(u.mnt, 'big'), absent.slice(0, 40)), look(path.join(k.mnt, 'big'), absent.slice(0, 40)), 'whited-out names')
  t.same(look(path.join(u.mnt, 'opq'), absent.slice(40)), look(path.join(k.mnt, 'opq'), absent.slice(40)), 'names hidden by the opaque dir')
  t.ok(look(path.join(u.mnt, 'big'), absent.slice(0, 40)).every((l) => l.endsWith('ENOENT')), 'whiteouts hide their names')

  // The kernel forgets everything; the walk is answered the same again.
  fs.writeFileSync('/proc/sys/vm/drop_caches', '2')
  t.equal(walk(u.mnt), walk(k.mnt), 'after the kernel dropped its dentries')
})

t.test('entries made ahead go when their directory changes', async (t) => {
  const u = await strataUnion(t, LAYERS, prepare, 'strata', 'debug')
  const k = await strataUnion(t, LAYERS, prepare, 'kernel')
  const log = path.join(runDir, 'mounts', encodeURIComponent(u.mnt) + '.log')
  const jsLookupsOf = (text: string, names: string[]): number => {
    const want = new Set(names.map((n) => `name=${JSON.stringify(n)}`))
    return text.split('\n').filter((l) => l.startsWith('strata: LOOKUP ') && want.has(l.slice(l.indexOf('name=')))).length
  }
  // A plain listing (ls stats nothing), then a look at one name of its
  // tail: the names after it in the directory's order are indexed.
  // (ls -U: fs.readdirSync sorts.)
  const ls = spawnSync('ls', ['-U', path.join(u.mnt, 'big')], { encoding: 'utf8' })
  t.equal(ls.status, 0, 'ls -U lists big/')
  const listed = ls.stdout.split('\n').filter((l) => l !== '')
  const tail = listed.slice(-601)
  t.same(look(path.join(u.mnt, 'big'), tail.slice(0, 1)), look(path.join(k.mnt, 'big'), tail.slice(0, 1)), 'the first look')
  tail.shift()
  let at = fs.readFileSync(log, 'utf8').length
  const some = tail.slice(0, 100)
  t.same(look(path.join(u.mnt, 'big'), some), look(path.join(k.mnt, 'big'), some), 'indexed names answer as the kernel\'s')
  // The index is made after the first look's reply, so the next name's
  // LOOKUP may already be on its way to JS.
  const reached = jsLookupsOf(fs.readFileSync(log, 'utf8').slice(at), some)
  t.ok(reached <= 1, `${reached} of them reached JS`)

  // Changes through the mount: a rename and a removal in big/, a copy-up of
  // a name still indexed. Then every indexed name again.
  const [moved, removed, appended] = tail.slice(100, 103)
  for (const m of [u.mnt, k.mnt]) {
    fs.renameSync(path.join(m, 'big', moved), path.join(m, 'big', 'moved-here'))
    fs.unlinkSync(path.join(m, 'big', removed))
    fs.appendFileSync(path.join(m, 'big', appended), 'more')
  }
  at = fs.readFileSync(log, 'utf8').length
  const rest = [...tail.slice(100), 'moved-here']
  t.same(look(path.join(u.mnt, 'big'), rest), look(path.join(k.mnt, 'big'), rest), 'after the changes, every name answers as the kernel\'s')
  t.ok(jsLookupsOf(fs.readFileSync(log, 'utf8').slice(at), tail.slice(103)) > 0, 'the changed directory\'s names went back to JS')
  t.same(fs.readdirSync(path.join(u.mnt, 'big')).sort(), fs.readdirSync(path.join(k.mnt, 'big')).sort(), 'and its listing is the kernel\'s')
})
