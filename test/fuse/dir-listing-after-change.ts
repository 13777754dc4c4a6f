// Directory listings after changes made through the mount, with kernel
// overlayfs as the oracle. strata's loop threads answer OPENDIR of a
// directory unchanged since JS last opened it (native/dir-opens.h), and a
// handle they opened gets its listing from JS only at its first READDIR;
// neither may ever show a listing from before a change. Each directory kind
// (lower-only, merged across lowers, opaque, holding a whiteout, upper-only)
// is listed after every step three ways: a fresh opendir in this process, a
// fresh process (ls), and one directory stream held open across all steps and
// rewound (perl's rewinddir), which must show the directory as it is now.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { strataUnion, type Tree, type Union } from '../fixtures/strata-union.js'
import type { Impl } from '../fixtures/mount-overlay.js'

const LAYERS: Tree[] = [
  {
    merged: { top: 't', both: 'top' },
    opq: { new: 'n' },
    wh: { mine: 'm' },
  },
  {
    lower: { a: 'a', b: 'b', nested: { c: 'c' } },
    merged: { bottom: 'b', both: 'bottom', bsub: { x: 'x' } },
    opq: { old: 'o', oldsub: { y: 'y' } },
    wh: { gone: 'g', kept: 'k' },
  },
]

/** The top lower's whiteout and opaque mark, in the kernel's format. */
const prepare = ([top]: string[]): void => {
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
  }
  run('mknod', [`${top}/wh/gone`, 'c', '0', '0'])
  run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', `${top}/opq`])
}

/** A directory stream held open by perl: each line in asks it to rewind and list. */
interface Held { list: () => Promise<string>, close: () => Promise<void> }

function holdDir (t: Test, dir: string): Held {
  const script = '$| = 1; opendir(my $d, $ARGV[0]) or die "$!\\n"; while (<STDIN>) { rewinddir $d; print join("/", sort grep { $_ ne "." && $_ ne ".." } readdir $d), "\\n" }'
  const p: ChildProcessWithoutNullStreams = spawn('perl', ['-e', script, dir])
  let stderr = ''
  p.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
  const lines = createInterface({ input: p.stdout })
  const waiting: ((line: string) => void)[] = []
  lines.on('line', (l) => { waiting.shift()?.(l) })
  const exited = new Promise<void>((resolve) => { p.once('exit', () => { resolve() }) })
  const close = async (): Promise<void> => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    await exited
  }
  t.teardown(close)
  return {
    list: () => new Promise((resolve, reject) => {
      if (p.exitCode !== null) { reject(new Error(`perl exited: ${stderr}`)); return }
      waiting.push(resolve)
      p.stdin.write('\n')
    }),
    close,
  }
}

const fresh = (d: string): string => fs.readdirSync(d).sort().join('/')
const viaLs = (d: string): string => {
  const r = spawnSync('ls', ['-a', d], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ls ${d}: ${r.stderr}`)
  return r.stdout.split('\n').filter((n) => n && n !== '.' && n !== '..').sort().join('/')
}

/** The changes, in order; each names the directory it changes (relative paths). */
const STEPS: [string, (m: string, d: string) => void][] = [
  ['create', (m, d) => { fs.writeFileSync(`${m}/${d}/new1`, '1') }],
  ['unlink a lower entry (whiteout) or an upper one', (m, d) => {
    const victim = fs.readdirSync(`${m}/${d}`).filter((n) => n !== 'new1' && fs.lstatSync(`${m}/${d}/${n}`).isFile()).sort()[0] ?? 'new1'
    fs.unlinkSync(`${m}/${d}/${victim}`)
  }],
  ['rename within', (m, d) => { fs.renameSync(`${m}/${d}/new1`, `${m}/${d}/new2`) }],
  ['mkdir', (m, d) => { fs.mkdirSync(`${m}/${d}/sub2`) }],
  ['rename out', (m, d) => { fs.renameSync(`${m}/${d}/new2`, `${m}/elsewhere/${d}-new2`) }],
  ['rename in', (m, d) => { fs.renameSync(`${m}/elsewhere/in-${d}`, `${m}/${d}/came`) }],
  ['rmdir', (m, d) => { fs.rmdirSync(`${m}/${d}/sub2`) }],
  ['remove a lower subdirectory tree', (m, d) => {
    const sub = fs.readdirSync(`${m}/${d}`).filter((n) => n !== 'came' && fs.lstatSync(`${m}/${d}/${n}`).isDirectory()).sort()[0]
    if (sub) fs.rmSync(`${m}/${d}/${sub}`, { recursive: true })
  }],
  ['recreate the whiteout name', (m, d) => { fs.writeFileSync(`${m}/${d}/gone`, 'back') }],
]

const DIRS = ['lower', 'merged', 'opq', 'wh', 'upperonly']

/** Every listing of `d` after every step, on one implementation. */
async function listings (t: Test, impl: Impl, d: string): Promise<string[]> {
  const u: Union = await strataUnion(t, LAYERS, prepare, impl)
  const m = u.mnt
  fs.mkdirSync(`${m}/elsewhere`)
  fs.writeFileSync(`${m}/elsewhere/in-${d}`, 'in')
  if (d === 'upperonly') {
    fs.mkdirSync(`${m}/upperonly`)
    fs.writeFileSync(`${m}/upperonly/pre`, 'p')
  }
  const dir = `${m}/${d}`
  // An open that reads nothing: the next open (native in strata) finds no
  // cached listing and must get one through its own handle.
  fs.closeSync(fs.openSync(dir, 'r'))
  const out: string[] = []
  const record = async (label: string, held: Held): Promise<void> => {
    // The held stream first: right after a change the kernel has no valid
    // cached listing, so its rewind reaches the daemon through its old handle.
    const h = await held.list()
    const f = fresh(dir)
    const l = viaLs(dir)
    out.push(`${label}: fresh=${f} ls=${l} held=${h}`)
    // Twice: the second pass is the one a stable directory's cache answers.
    out.push(`${label} again: fresh=${fresh(dir)} ls=${viaLs(dir)} held=${await held.list()}`)
  }
  const held = holdDir(t, dir)
  // The stream holds the mount busy: it ends before the unmount, also on failure.
  try {
    await record('initial', held)
    for (const [label, step] of STEPS) {
      step(m, d)
      await record(label, held)
    }
  } finally {
    await held.close()
  }
  return out
}

for (const d of DIRS) {
  t.test(`${d}: listings after each change match kernel overlayfs`, async (t) => {
    let kernel: string[] = []
    let strata: string[] = []
    await t.test('kernel overlayfs', async (t) => { kernel = await listings(t, 'kernel', d); t.equal(kernel.length, 2 * (STEPS.length + 1)) })
    await t.test('strata', async (t) => { strata = await listings(t, 'strata', d); t.equal(strata.length, 2 * (STEPS.length + 1)) })
    t.same(strata, kernel, 'every listing, fresh, in a new process and through the rewound stream')
    for (const line of strata) {
      const [, f, l, h] = /fresh=(.*) ls=(.*) held=(.*)$/.exec(line) ?? []
      t.ok(f === l && l === h, `the three listings agree: ${line}`)
    }
  })
}
