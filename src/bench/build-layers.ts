// Builds the bench's lower layers, deterministically, in kernel overlayfs
// format, once per work dir: every system then mounts these very same trees
// (read-only lowers are shared; only upper/work dirs are made per run).
//   l1: a rootfs-like tree (~30k files under etc/ and usr/, packages named
//       pkgN), a big file, a 10k-entry directory, a static busybox in bin/.
//   l2: overrides ~2% of l1 files, adds files to existing dirs, deletes ~1%
//       (whiteout = char device 0/0), whites out whole dirs, and replaces some
//       dirs with opaque ones (xattr trusted.overlay.opaque=y).
// Also a tar of 5k small files (input of the untar test) and a list of 1000
// l1 files visible in the merged view (copy-up and delete tests).
// Sync fs calls are fine here: these are plain directories, never a mount.
// A stamp file written last marks a complete build and is what lets a --keep'd
// work dir be reused by the next run with the same parameters.

import { chmodSync, copyFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { prng, type Rng } from './prng.js'
import { timedSpawn } from './timed-spawn.js'

export interface Layout {
  /** lower layer dirs, top first, as overlay's lowerdir= lists them */
  lowers: string[];
  /** paths relative to the mount root */
  bigFile: string;
  dir10k: string;
  rmTree: string;
  /** absolute paths, outside the layers */
  smallTar: string;
  touchList: string;
  /** a string present in a few files under usr/, for grep */
  needle: string;
  bigMib: number;
  treeFiles: number;
}

const FORMAT = 1 // bump when the generator changes, so kept work dirs get rebuilt
const SEED = 0x5747a7a
const TREE_FILES = 30_000
const DIR_ENTRIES = 10_000
const TAR_FILES = 5_000
const TOUCH_FILES = 1_000
const NEEDLE = 'STRATA_NEEDLE' // the text pool is lowercase: matches only where planted
const POOL_BYTES = 1 << 20

/** Returns the layout under `dir`, building it unless a complete build with the same parameters is there. */
export async function buildLayers (dir: string, bigMib: number, log: string, signal?: AbortSignal): Promise<Layout> {
  const stampPath = join(dir, 'stamp.json')
  const stamp = JSON.stringify({ FORMAT, SEED, bigMib })
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

  const tree = await writeRootfs(w, l1, signal)
  writeBig(join(l1, 'data/big.bin'), bigMib, pool)
  for (let i = 0; i < DIR_ENTRIES; i++) w.file(l1, `var/lib/dir10k/entry-${String(i).padStart(5, '0')}`, w.rng.int(0, 256))
  mkdirSync(join(l1, 'bin'))
  copyFileSync('/bin/busybox', join(l1, 'bin/busybox')) // Debian's busybox-static: no libs needed in the chroot
  chmodSync(join(l1, 'bin/busybox'), 0o755)
  symlinkSync('busybox', join(l1, 'bin/sh'))
  symlinkSync('busybox', join(l1, 'bin/true'))
  mkdirSync(join(l1, 'tmp'), { mode: 0o1777 })
  chmodSync(join(l1, 'tmp'), 0o1777)

  const visible = await writeUpperLayer(w, l2, tree, log, signal)

  const touch: string[] = []
  for (let i = 0; i < TOUCH_FILES; i++) touch.push(visible.splice(w.rng.int(0, visible.length - 1), 1)[0])
  const touchList = join(dir, 'touch-list.txt')
  writeFileSync(touchList, touch.join('\n') + '\n')

  const tarSrc = join(dir, 'tar-src')
  for (let i = 0; i < TAR_FILES; i++) w.file(tarSrc, `small/d${String(i % 50).padStart(2, '0')}/f${String(i).padStart(4, '0')}`, w.rng.int(0, 4096))
  const smallTar = join(dir, 'small.tar')
  await timedSpawn(['tar', 'cf', smallTar, '--sort=name', '-C', tarSrc, 'small'], { log, signal })
  rmSync(tarSrc, { recursive: true })

  const layout: Layout = {
    lowers: [l2, l1],
    bigFile: 'data/big.bin',
    dir10k: 'var/lib/dir10k',
    rmTree: 'usr/share/doc',
    smallTar,
    touchList,
    needle: NEEDLE,
    bigMib,
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

async function writeRootfs (w: TreeWriter, l1: string, signal?: AbortSignal): Promise<string[]> {
  const { rng } = w
  const tree: string[] = []
  const add = (rel: string): void => {
    // Plant the needle in every 500th file under usr/, so grep -r has some work to report.
    const needle = rel.startsWith('usr/') && tree.length % 500 === 0 ? `\n${NEEDLE}\n` : ''
    w.file(l1, rel, fileSize(rng), needle)
    tree.push(rel)
  }
  for (const f of ['hostname', 'passwd', 'group', 'shadow', 'os-release', 'fstab', 'hosts']) add(`etc/${f}`)
  const langs = ['de', 'fr', 'es', 'it', 'ja', 'pt_BR', 'ru', 'zh_CN', 'nl', 'pl']
  for (let n = 0; tree.length < TREE_FILES; n++) {
    const pkg = `pkg${n}`
    for (const f of ['copyright', 'changelog.Debian.gz', 'README.Debian', 'NEWS.Debian.gz'].slice(0, rng.int(2, 4))) add(`usr/share/doc/${pkg}/${f}`)
    if (rng.next() < 0.5) for (let i = rng.int(1, 3); i > 0; i--) add(`usr/share/man/man${[1, 5, 8][i - 1]}/${pkg}.${i}.gz`)
    if (rng.next() < 0.6) add(`usr/lib/x86_64-linux-gnu/lib${pkg}.so.${rng.int(0, 9)}`)
    if (rng.next() < 0.3) { for (let d = rng.int(1, 3); d > 0; d--) for (let i = rng.int(2, 10); i > 0; i--) add(`usr/lib/${pkg}/mod${d}/sub/m${i}.so`) }
    if (rng.next() < 0.2) for (let i = rng.int(3, 15); i > 0; i--) add(`usr/share/${pkg}/${i % 3 ? 'data' : 'icons'}/d${i}`)
    if (rng.next() < 0.15) for (let i = rng.int(2, 8); i > 0; i--) add(`usr/include/${pkg}/h${i}.h`)
    if (rng.next() < 0.3) add(`usr/bin/${pkg}`)
    if (rng.next() < 0.1) for (let i = rng.int(1, 4); i > 0; i--) add(`etc/${pkg}/conf.d/${i}.conf`)
    if (rng.next() < 0.1) for (let i = rng.int(3, 8); i > 0; i--) add(`usr/share/locale/${langs[i]}/LC_MESSAGES/${pkg}.mo`)
    if (n % 200 === 0) {
      await new Promise(setImmediate) // let SIGINT through
      signal?.throwIfAborted()
    }
  }
  return tree
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
