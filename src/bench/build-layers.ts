// Builds the bench's lower layers, deterministically, in kernel overlayfs
// format, once per work dir: every system then mounts these very same trees
// (read-only lowers are shared; only upper/work dirs are made per run).
//   l1: a rootfs-like tree (sizes.treeFiles files under etc/ and usr/,
//       packages named pkgN, their dpkg status database), a big file, a
//       big directory, a static busybox in bin/.
//   l2: overrides ~2% of l1 files, adds files to existing dirs, deletes ~1%
//       (whiteout = char device 0/0), whites out whole dirs, and replaces some
//       dirs with opaque ones (xattr trusted.overlay.opaque=y).
// Also a tar of small files (input of the untar test), a list of l1 files
// visible in the merged view (copy-up and delete tests), and the layer-count
// sets: one more rootfs-like tree of small files, written as 1, 8 and 32
// lowers, each file in one seeded-random layer and its parent dirs in every
// layer that holds a file below them (so dirs merge across many layers, as in
// an image of many RUN steps).
// Sync fs calls are fine here: these are plain directories, never a mount.
// A stamp file written last marks a complete build and is what lets a --keep'd
// work dir be reused by the next run with the same parameters.

import { chmodSync, copyFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { prng, type Rng } from './prng.js'
import { timedSpawn } from './timed-spawn.js'

/** The knobs of the data set; part of the stamp, so a kept work dir is rebuilt when they change. */
export interface Sizes {
  /** the big file (seqread, randread, copy-up) and the fsync write */
  bigMib: number
  /** files of the main rootfs-like tree */
  treeFiles: number
  /** entries of the big directory (ls rows) */
  dirEntries: number
  /** files in the untar input */
  tarFiles: number
  /** files copied up and deleted */
  touchFiles: number
  /** files of the layer-count tree */
  layerTreeFiles: number
}

export interface Layout {
  /** lower layer dirs, top first, as overlay's lowerdir= lists them */
  lowers: string[];
  /** lowers of the layer-count tree, by count, top first */
  layerSets: Record<string, string[]>;
  /** paths relative to the mount root */
  bigFile: string;
  bigDir: string;
  rmTree: string;
  /** absolute paths, outside the layers */
  smallTar: string;
  touchList: string;
  /** a string present in a few files under usr/, for grep */
  needle: string;
  sizes: Sizes;
  /** files in the main tree, as built */
  treeFiles: number;
}

/** The default data set: the shapes, sized so a full run stays within minutes on 2 cores. */
export const DEFAULT_SIZES: Sizes = { bigMib: 256, treeFiles: 20_000, dirEntries: 10_000, tarFiles: 5_000, touchFiles: 1_000, layerTreeFiles: 6_000 }
/** --quick: every row, on a data set small enough for a smoke test. */
export const QUICK_SIZES: Sizes = { bigMib: 16, treeFiles: 2_000, dirEntries: 1_000, tarFiles: 500, touchFiles: 100, layerTreeFiles: 600 }

const FORMAT = 2 // bump when the generator changes, so kept work dirs get rebuilt
const SEED = 0x5747a7a
const NEEDLE = 'STRATA_NEEDLE' // the text pool is lowercase: matches only where planted
const POOL_BYTES = 1 << 20

/** Returns the layout under `dir`, building it unless a complete build with the same parameters is there. */
export async function buildLayers (dir: string, sizes: Sizes, layerCounts: readonly number[], log: string, signal?: AbortSignal): Promise<Layout> {
  const stampPath = join(dir, 'stamp.json')
  const stamp = JSON.stringify({ FORMAT, SEED, sizes, layerCounts })
  if (existsSync(stampPath)) {
    const saved = JSON.parse(readFileSync(stampPath, 'utf8')) as { stamp: string; layout: Layout }
    if (saved.stamp === stamp) return saved.layout
  }
  rmSync(dir, { recursive: true, force: true })
  const l1 = join(dir, 'l1')
  const l2 = join(dir, 'l2')
  const rng = prng(SEED)
  const pool = textPool(rng)
  const w = new TreeWriter(pool, rng)

  const tree: string[] = []
  await writeRootfs(rng, sizes.treeFiles, (rel, size) => {
    // Plant the needle in every 500th file under usr/, so grep -r has some work to report.
    const needle = rel.startsWith('usr/') && tree.length % 500 === 0 ? `\n${NEEDLE}\n` : ''
    w.file(l1, rel, size, needle)
    tree.push(rel)
  }, signal)
  writeDpkgStatus(join(l1, 'var/lib/dpkg'), tree)
  writeBig(join(l1, 'data/big.bin'), sizes.bigMib, pool)
  for (let i = 0; i < sizes.dirEntries; i++) w.file(l1, `var/lib/bigdir/entry-${String(i).padStart(5, '0')}`, w.rng.int(0, 256))
  mkdirSync(join(l1, 'bin'))
  copyFileSync('/bin/busybox', join(l1, 'bin/busybox')) // Debian's busybox-static: no libs needed in the chroot
  chmodSync(join(l1, 'bin/busybox'), 0o755)
  symlinkSync('busybox', join(l1, 'bin/sh'))
  symlinkSync('busybox', join(l1, 'bin/true'))
  mkdirSync(join(l1, 'tmp'), { mode: 0o1777 })
  chmodSync(join(l1, 'tmp'), 0o1777)

  const visible = await writeUpperLayer(w, l2, tree, log, signal)

  const touch: string[] = []
  for (let i = 0; i < sizes.touchFiles; i++) touch.push(visible.splice(w.rng.int(0, visible.length - 1), 1)[0])
  const touchList = join(dir, 'touch-list.txt')
  writeFileSync(touchList, touch.join('\n') + '\n')

  const tarSrc = join(dir, 'tar-src')
  for (let i = 0; i < sizes.tarFiles; i++) w.file(tarSrc, `small/d${String(i % 50).padStart(2, '0')}/f${String(i).padStart(4, '0')}`, w.rng.int(0, 4096))
  const smallTar = join(dir, 'small.tar')
  await timedSpawn(['tar', 'cf', smallTar, '--sort=name', '-C', tarSrc, 'small'], { log, signal })
  rmSync(tarSrc, { recursive: true })

  const layerSets = await writeLayerSets(w, join(dir, 'layer-sets'), sizes.layerTreeFiles, layerCounts, signal)

  const layout: Layout = {
    lowers: [l2, l1],
    layerSets,
    bigFile: 'data/big.bin',
    bigDir: 'var/lib/bigdir',
    rmTree: 'usr/share/doc',
    smallTar,
    touchList,
    needle: NEEDLE,
    sizes,
    treeFiles: tree.length,
  }
  writeFileSync(stampPath, JSON.stringify({ stamp, layout }))
  return layout
}

function textPool (rng: Rng): Buffer {
  const letters = 'abcdefghijklmnopqrstuvwxyz'
  const words = Array.from({ length: 2000 }, () =>
    Array.from({ length: rng.int(2, 10) }, () => letters[rng.int(0, 25)]).join('')
  )
  const parts: string[] = []
  for (let n = 0; n < POOL_BYTES;) {
    const word = words[rng.int(0, words.length - 1)] + (rng.next() < 0.1 ? '\n' : ' ')
    parts.push(word)
    n += word.length
  }
  return Buffer.from(parts.join('').slice(0, POOL_BYTES))
}

/** Mostly small files, a quarter medium, 2% of 100-300 KiB: roughly a distro's shape. */
function fileSize (rng: Rng): number {
  const r = rng.next()
  if (r < 0.02) return rng.int(100, 300) * 1024
  if (r < 0.27) return rng.int(4096, 32768)
  return rng.int(0, 4096)
}

class TreeWriter {
  private dirs = new Set<string>()
  constructor (
    private pool: Buffer,
    readonly rng: Rng
  ) {}

  mkdir (path: string): void {
    if (this.dirs.has(path)) return
    mkdirSync(path, { recursive: true })
    this.dirs.add(path)
  }

  file (root: string, rel: string, size: number, extra = ''): void {
    const path = join(root, rel)
    this.mkdir(dirname(path))
    const off = this.rng.int(0, this.pool.length - size)
    writeFileSync(path, extra ? Buffer.concat([this.pool.subarray(off, off + size), Buffer.from(extra)]) : this.pool.subarray(off, off + size))
  }
}

/** Generates a rootfs-like list of paths with sizes from `rng`; `add` writes (or collects) each. */
async function writeRootfs (rng: Rng, count: number, add: (rel: string, size: number) => void, signal?: AbortSignal): Promise<void> {
  let files = 0
  const file = (rel: string): void => {
    add(rel, fileSize(rng))
    files++
  }
  for (const f of ['hostname', 'passwd', 'group', 'shadow', 'os-release', 'fstab', 'hosts']) file(`etc/${f}`)
  const langs = ['de', 'fr', 'es', 'it', 'ja', 'pt_BR', 'ru', 'zh_CN', 'nl', 'pl']
  // eslint-disable-next-line no-unmodified-loop-condition -- files grows in the loop body through a helper
  for (let n = 0; files < count; n++) {
    const pkg = `pkg${n}`
    for (const f of ['copyright', 'changelog.Debian.gz', 'README.Debian', 'NEWS.Debian.gz'].slice(0, rng.int(2, 4))) file(`usr/share/doc/${pkg}/${f}`)
    if (rng.next() < 0.5) for (let i = rng.int(1, 3); i > 0; i--) file(`usr/share/man/man${[1, 5, 8][i - 1]}/${pkg}.${i}.gz`)
    if (rng.next() < 0.6) file(`usr/lib/x86_64-linux-gnu/lib${pkg}.so.${rng.int(0, 9)}`)
    if (rng.next() < 0.3) { for (let d = rng.int(1, 3); d > 0; d--) for (let i = rng.int(2, 10); i > 0; i--) file(`usr/lib/${pkg}/mod${d}/sub/m${i}.so`) }
    if (rng.next() < 0.2) for (let i = rng.int(3, 15); i > 0; i--) file(`usr/share/${pkg}/${i % 3 ? 'data' : 'icons'}/d${i}`)
    if (rng.next() < 0.15) for (let i = rng.int(2, 8); i > 0; i--) file(`usr/include/${pkg}/h${i}.h`)
    if (rng.next() < 0.3) file(`usr/bin/${pkg}`)
    if (rng.next() < 0.1) for (let i = rng.int(1, 4); i > 0; i--) file(`etc/${pkg}/conf.d/${i}.conf`)
    if (rng.next() < 0.1) for (let i = rng.int(3, 8); i > 0; i--) file(`usr/share/locale/${langs[i]}/LC_MESSAGES/${pkg}.mo`)
    if (n % 200 === 0) {
      await new Promise(setImmediate) // let SIGINT through
      signal?.throwIfAborted()
    }
  }
}

/** A dpkg status database listing every pkgN of the tree, as dpkg-query reads it. */
function writeDpkgStatus (admindir: string, tree: readonly string[]): void {
  const pkgs = [...new Set(tree.map((p) => /^usr\/share\/doc\/(pkg\d+)\//.exec(p)?.[1]).filter((p) => p !== undefined))]
  mkdirSync(join(admindir, 'updates'), { recursive: true })
  const stanza = (p: string, i: number): string => [
    `Package: ${p}`, 'Status: install ok installed', 'Priority: optional', 'Section: misc',
    `Installed-Size: ${(i * 37) % 5000 + 8}`, 'Maintainer: Bench Maintainers <bench@example.invalid>', 'Architecture: amd64',
    `Version: ${1 + (i % 7)}.${i % 13}-${1 + (i % 3)}`, `Depends: libc6 (>= 2.36), pkg${Math.max(0, i - 1)}`,
    `Description: generated package ${p} of the strata bench tree`,
    ' A stand-in for a Debian package: its files live under /usr/share/doc,',
    ' /usr/lib and /usr/share, as a real package\'s would.', '',
  ].join('\n')
  writeFileSync(join(admindir, 'status'), pkgs.map(stanza).join('\n'))
}

/** Writes one small-file rootfs tree as each requested number of lowers; returns their dirs by count, top first. */
async function writeLayerSets (w: TreeWriter, dir: string, files: number, counts: readonly number[], signal?: AbortSignal): Promise<Record<string, string[]>> {
  const paths: string[] = []
  await writeRootfs(prng(SEED + 1), files, (rel) => paths.push(rel), signal)
  const sets: Record<string, string[]> = {}
  for (const n of counts) {
    const layers = Array.from({ length: n }, (_, k) => join(dir, `x${n}`, `l${String(k).padStart(2, '0')}`))
    for (const l of layers) w.mkdir(l)
    const rng = prng(SEED + n)
    for (const rel of paths) w.file(layers[rng.int(0, n - 1)], rel, rng.int(0, 2048))
    sets[n] = layers.reverse()
    await new Promise(setImmediate)
    signal?.throwIfAborted()
  }
  return sets
}

function writeBig (path: string, mib: number, pool: Buffer): void {
  mkdirSync(dirname(path), { recursive: true })
  const fd = openSync(path, 'w')
  try {
    for (let i = 0; i < mib; i++) writeSync(fd, pool)
  } finally {
    closeSync(fd)
  }
}

/** Writes l2 over the l1 `tree`; returns the l1 files still visible through it. */
async function writeUpperLayer (w: TreeWriter, l2: string, tree: string[], log: string, signal?: AbortSignal): Promise<string[]> {
  const { rng } = w
  w.mkdir(l2)
  const libDirs = [...new Set(tree.filter((p) => /^usr\/lib\/pkg\d+\//.test(p)).map((p) => p.split('/').slice(0, 3).join('/')))]
  const docDirs = [...new Set(tree.filter((p) => p.startsWith('usr/share/doc/')).map((p) => p.split('/').slice(0, 4).join('/')))]
  const opaque = Array.from({ length: 5 }, () => libDirs[rng.int(0, libDirs.length - 1)])
  const goneDirs = Array.from({ length: 5 }, () => docDirs[rng.int(0, docDirs.length - 1)])
  for (const d of opaque) for (let i = 0; i < 2; i++) w.file(l2, `${d}/replaced${i}.so`, fileSize(rng))
  const keptDocDirs = docDirs.filter((d) => !goneDirs.includes(d))
  for (let i = 0; i < 300; i++) w.file(l2, `${keptDocDirs[rng.int(0, keptDocDirs.length - 1)]}/added-in-l2-${i}`, fileSize(rng))

  const hidden = (p: string): boolean => [...opaque, ...goneDirs].some((d) => p.startsWith(d + '/'))
  const whiteouts: string[] = [...new Set(goneDirs)]
  const visible: string[] = []
  for (const p of tree) {
    if (hidden(p)) continue
    const r = rng.next()
    if (r < 0.01) {
      w.mkdir(dirname(join(l2, p)))
      whiteouts.push(p)
      continue
    }
    if (r < 0.03) w.file(l2, p, fileSize(rng))
    visible.push(p)
  }
  for (const d of goneDirs) w.mkdir(dirname(join(l2, d)))
  // Node has no mknod(2); one shell runs them all.
  await timedSpawn(['sh', '-c', 'for p; do mknod "$p" c 0 0 || exit 1; done', 'sh', ...whiteouts], { log, cwd: l2, signal })
  await timedSpawn(['setfattr', '-n', 'trusted.overlay.opaque', '-v', 'y', ...new Set(opaque)], { log, cwd: l2, signal })
  return visible
}
