// Differential test: kernel overlayfs is the oracle. Seeded random sequences
// of file operations run against a kernel overlay mount and an overlay mount
// of the implementation under test (strata by default), over the same
// read-only lowers, each with its own fresh upper and work dirs. Per op, the
// outcome (ok + value, or errno name) must match; after each sequence the
// merged views (names, types, modes, owners, sizes, nlink, content, link
// targets, xattrs, and mtimes where deterministic) and the upper dirs
// (whiteouts, opaque marks, content…) must match, and the lowers must be
// untouched. A failure prints its seed, the op list and the differences.
//
//   STRATA_DIFF_IMPL=strata|fuse-overlayfs|kernel   implementation under test (strata)
//   STRATA_DIFF_SEQUENCES=N   how many sequences (200), seeds BASE..BASE+N-1
//   STRATA_DIFF_SEED_BASE=N   first seed (1)
//   STRATA_DIFF_OPS=N         ops per sequence (25)
//   STRATA_DIFF_SEED=N        replay only this seed, comparing after every op
//   STRATA_DIFF_STEPWISE=1    compare the merged views after every op
//   STRATA_DIFF_JOBS=N        sequences in flight at once (4; 1 when stepwise)
//
// Needs root. Mounts are unmounted by t.teardown; a watchdog per mount cleans
// up if this process dies. Keep failing trees with `npx tap --save-fixture`.

import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { diffTrees } from '../fixtures/diff-trees.js'
import { DirtySet } from '../fixtures/dirty-set.js'
import { applyOp, formatOp, type Op, type OpResult } from '../fixtures/fs-op.js'
import { generateOp } from '../fixtures/generate-op.js'
import { makeLowers } from '../fixtures/make-lowers.js'
import { IMPLS, mountOverlay, mountsUnder, type Impl } from '../fixtures/mount-overlay.js'
import { mulberry32 } from '../fixtures/mulberry32.js'
import { treeSnapshot, type TreeSnapshot } from '../fixtures/tree-snapshot.js'

const env = process.env
const intEnv = (name: string, def: number): number => {
  const v = env[name]
  if (v === undefined || v === '') return def
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`)
  return n
}

const IMPL = (env.STRATA_DIFF_IMPL || 'strata') as Impl
if (!IMPLS.includes(IMPL)) throw new Error(`STRATA_DIFF_IMPL must be one of ${IMPLS.join(', ')}`)
const OPS = intEnv('STRATA_DIFF_OPS', 25)
const ONE_SEED = env.STRATA_DIFF_SEED ? intEnv('STRATA_DIFF_SEED', 0) : undefined
const SEQUENCES = intEnv('STRATA_DIFF_SEQUENCES', 200)
const SEED_BASE = intEnv('STRATA_DIFF_SEED_BASE', 1)
const SEEDS =
  ONE_SEED !== undefined ? [ONE_SEED] : Array.from({ length: SEQUENCES }, (_, i) => SEED_BASE + i)
const STEPWISE = ONE_SEED !== undefined || env.STRATA_DIFF_STEPWISE === '1'
const JOBS = Math.max(1, intEnv('STRATA_DIFF_JOBS', 4))

/** fixed times for the fresh upper roots: the merged root's attributes come from there */
const UPPER_ROOT_TIME = 1_550_000_000.25

/** opaque marks and redirects are part of the format; other trusted.overlay.* (origin, impure…) are not */
const upperXattr = (name: string): boolean =>
  !name.startsWith('trusted.overlay.') || name === 'trusted.overlay.opaque' || name === 'trusted.overlay.redirect'

const replayCommand = (seed: number): string =>
  [
    IMPL === 'strata' ? '' : `STRATA_DIFF_IMPL=${IMPL}`,
    OPS === 25 ? '' : `STRATA_DIFF_OPS=${OPS}`,
    `STRATA_DIFF_SEED=${seed}`,
    'npx tap test/fuse/differential.ts',
  ]
    .filter(Boolean)
    .join(' ')

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root: overlay mounts, mknod, chown and trusted.* xattrs')
} else {
  process.umask(0o022) // creation modes must not depend on the CI environment
  // one dir per run: t.testdir() empties its dir first and removes it at the
  // end, which must never hit the lowers and mounts of a concurrent run
  t.testdirName = `${t.testdirName}-${process.pid}`
  const dir = t.testdir({ runs: {} })
  const lowers = makeLowers(join(dir, 'lowers'))
  const snapL1 = treeSnapshot(lowers.l1)
  const snapL2 = treeSnapshot(lowers.l2)
  const lowerPaths = [...snapL1.keys(), ...snapL2.keys()].filter(p => p !== '')

  const lowersChanged = (): string[] => [
    ...diffTrees(snapL1, treeSnapshot(lowers.l1), { label: 'L1 changed:', nlink: true, mtime: () => true }),
    ...diffTrees(snapL2, treeSnapshot(lowers.l2), { label: 'L2 changed:', nlink: true, mtime: () => true }),
  ]

  const side = (base: string, name: string) => {
    const d = join(base, name)
    const dirs = { upperdir: join(d, 'upper'), workdir: join(d, 'work'), mountpoint: join(d, 'mnt') }
    for (const p of Object.values(dirs)) mkdirSync(p, { recursive: true })
    chmodSync(dirs.upperdir, 0o755)
    utimesSync(dirs.upperdir, UPPER_ROOT_TIME, UPPER_ROOT_TIME)
    return { lowerdir: lowers.lowerdir, ...dirs }
  }

  const runSequence = async (t: Test, seed: number): Promise<void> => {
    const base = join(dir, 'runs', `seed-${seed}`)
    const steps: { op: Op; kernel: OpResult; impl: OpResult }[] = []
    const dirty = new DirtySet()
    const problems: string[] = []
    const report = (message: string, extra: Record<string, unknown> = {}): void => {
      const w = String(steps.length).length
      t.fail(`seed ${seed}: ${message}`, {
        seed,
        replay: replayCommand(seed),
        ...extra,
        ops: steps.map(({ op, kernel, impl }, i) => {
          const n = `#${String(i + 1).padStart(w)}`
          return kernel === impl
            ? `${n} ${formatOp(op)} => ${kernel}`
            : `${n} ${formatOp(op)} => kernel ${kernel}, ${IMPL} ${impl}   <-- differs`
        }),
        dirtyMtimes: dirty.list().map(p => p || '/'),
        trees: `${base} (kept with --save-fixture)`,
      })
    }

    try {
      const kDirs = side(base, 'kernel')
      const iDirs = side(base, 'impl')
      const k = await mountOverlay(t, 'kernel', kDirs)
      const s = await mountOverlay(t, IMPL, iDirs)

      const rng = mulberry32(seed)
      const ghosts = new Set(lowerPaths)
      const snapshotMerged = (): [TreeSnapshot, TreeSnapshot] => [
        treeSnapshot(k.mountpoint),
        treeSnapshot(s.mountpoint),
      ]
      const diffMerged = ([kk, ss]: [TreeSnapshot, TreeSnapshot]): string[] =>
        diffTrees(kk, ss, { label: 'merged', nlink: true, mtime: p => !dirty.has(p) })

      let diverged = false
      let model = treeSnapshot(k.mountpoint, { content: false, xattrs: false })
      for (let i = 1; i <= OPS; i++) {
        for (const p of model.keys()) ghosts.add(p)
        const op = generateOp(rng, model, ghosts)
        const kernel = applyOp(k.mountpoint, op)
        const impl = applyOp(s.mountpoint, op)
        steps.push({ op, kernel, impl })
        const after = treeSnapshot(k.mountpoint, { content: false, xattrs: false })
        if (kernel.startsWith('ok')) dirty.afterOp(op, model, after)
        model = after
        if (kernel !== impl) {
          problems.push(`op #${i} ${formatOp(op)}: kernel ${kernel}, ${IMPL} ${impl}`)
        }
        if (STEPWISE && !diverged) {
          const d = diffMerged(snapshotMerged())
          if (d.length) {
            diverged = true
            problems.push(`merged views first differ after op #${i}:`, ...d.map(x => `  ${x}`))
          }
        }
      }

      const merged = snapshotMerged()
      await k.unmount()
      await s.unmount()
      if (diverged) problems.push('at the end:')
      problems.push(...diffMerged(merged))
      problems.push(
        ...diffTrees(treeSnapshot(kDirs.upperdir), treeSnapshot(iDirs.upperdir), {
          label: 'upper',
          nlink: true,
          xattr: upperXattr,
        })
      )
      problems.push(...lowersChanged())
    } catch (er) {
      // the harness itself failed (mount, unmount…): still say which seed and ops
      report((er as Error).message ?? String(er), {
        error: (er as Error).stack ?? String(er),
        differences: problems,
      })
      return
    }

    if (problems.length) {
      report(`kernel overlayfs and ${IMPL} differ (${problems.length} differences)`, {
        differences: problems,
      })
      return
    }
    const ok = steps.filter(x => x.kernel.startsWith('ok')).length
    t.pass(`seed ${seed}: ${steps.length} ops, ${ok} succeeded on kernel`)
    rmSync(base, { recursive: true, force: true })
  }

  const what = `kernel overlayfs vs ${IMPL}: ${SEEDS.length} sequence(s) of ${OPS} ops, seeds ${SEEDS[0]}..${SEEDS[SEEDS.length - 1]}`
  // Ops and snapshots are synchronous, so sequences never interleave; running
  // several at once only overlaps their mount/unmount latency.
  t.test(what, { jobs: STEPWISE ? 1 : JOBS }, async t => {
    for (const seed of SEEDS) t.test(`seed ${seed}`, t => runSequence(t, seed))
  })

  t.test('no mounts or child processes left behind', async t => {
    t.same(mountsUnder(dir), [], 'no mounts under the test dir')
    const children = readdirSync('/proc')
      .filter(p => /^\d+$/.test(p))
      .flatMap(pid => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
          const [, comm = '', rest = ''] = /^\d+ \((.*)\) (.*)$/s.exec(stat) ?? []
          return Number(rest.split(' ')[1]) === process.pid ? [`${pid} ${comm}`] : []
        } catch {
          return []
        }
      })
    t.same(children, [], 'no child processes')
  })
}
