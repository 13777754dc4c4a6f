// Lookups through a listed lower directory, kernel overlayfs as the oracle.
// DirLayer answers "no such name" from a handle's listing once it has one
// (src/union/dir-layer.ts), so a name looked up after its directory was
// listed takes another path than one looked up cold. Over four lowers with
// names spread across layers, whiteouts (char 0/0) and opaque dirs in the
// middle ones and dirs merged across all of them, every name any lower holds
// (whited-out and hidden ones included) is stat'ed in each directory, once
// before any listing and once after listing the directory, and the answers
// (type, size, or the errno) plus the listings must equal the kernel's.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { strataUnion, type Tree } from '../fixtures/strata-union.js'
import type { Impl } from '../fixtures/mount-overlay.js'

// Top first. "d" merges across all four; d/deep across three.
const LAYERS: Tree[] = [
  { d: { top: 't', both: 'top', deep: { t3: '3' } }, solo3: 'x' },
  { d: { m1: 'm', gone: 'g2', deep: { m2: 'm' } }, opq: { after: 'a' }, lone: { x: 'x' } },
  { d: { m2: 'm', keep: 'k', both: 'lower', inner: { y: 'y' } }, opq: { hidden: 'h', inner: { z: 'z' } }, lone: { y: 'y' } },
  { d: { bottom: 'b', gone: 'g0', keep: 'old', deep: { b: 'b', gone: 'g' }, inner: { w: 'w' } }, opq: { older: 'o' }, root0: 'r' },
]

/** Whiteouts and an opaque dir in the middle lowers, in the kernel's format. */
const prepare = (lowers: string[]): void => {
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
  }
  run('mknod', [`${lowers[0]}/d/gone`, 'c', '0', '0'])
  run('mknod', [`${lowers[1]}/d/keep-wh`, 'c', '0', '0'])
  run('mknod', [`${lowers[1]}/d/deep/gone`, 'c', '0', '0'])
  run('mknod', [`${lowers[2]}/root0`, 'c', '0', '0'])
  run('mknod', [`${lowers[0]}/lone`, 'c', '0', '0'])
  run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', `${lowers[1]}/opq`])
  run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', `${lowers[2]}/d/inner`])
}

const DIRS = ['', 'd', 'd/deep', 'd/inner', 'opq', 'opq/inner', 'lone']

/** Every name any lower holds in `rel`, plus names no lower holds. */
function candidates (lowers: string[], rel: string): string[] {
  const names = new Set(['absent', '.wh.absent'])
  for (const l of lowers) {
    try { for (const n of fs.readdirSync(path.join(l, rel))) names.add(n) } catch {}
  }
  return [...names].sort()
}

function describe (p: string): string {
  try {
    const st = fs.lstatSync(p)
    return st.isDirectory() ? 'dir' : st.isFile() ? `file ${st.size}` : `mode ${st.mode.toString(8)}`
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error'
  }
}

async function answers (t: Test, impl: Impl, listFirst: boolean, lowers: Tree[]): Promise<string[]> {
  const u = await strataUnion(t, lowers, prepare, impl)
  const out: string[] = []
  for (const rel of DIRS) {
    const dir = path.join(u.mnt, rel)
    if (listFirst) out.push(`${rel}: ${describe(dir)} [${(describe(dir) === 'dir' ? fs.readdirSync(dir).sort() : []).join(' ')}]`)
    for (const n of candidates(u.lowers, rel)) out.push(`${rel}/${n}: ${describe(path.join(dir, n))}`)
  }
  return out
}

for (const listFirst of [false, true]) {
  t.test(`lookups ${listFirst ? 'after' : 'before'} listing match kernel overlayfs`, async (t) => {
    const kernel = await answers(t, 'kernel', listFirst, LAYERS)
    const strata = await answers(t, 'strata', listFirst, LAYERS)
    // The tree has what the test is about: hidden names and opaque cut-offs.
    t.ok(kernel.includes('d/gone: ENOENT') && kernel.includes('opq/hidden: ENOENT') && kernel.includes('d/keep: file 1'), 'fixture has whiteouts and opaque dirs')
    t.same(strata, kernel)
  })
}
