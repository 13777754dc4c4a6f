// The rows the bench measures, in table order. Most are one timed child
// process in the mount (a shell where a pipeline or a loop is needed, so one
// process does the whole job and no per-file spawn cost swamps the
// filesystem's). Every measurement gets a fresh mount with fresh upper/work
// dirs, then sync + drop_caches; `warm` rows then run once untimed before the
// timed run. So mutating rows always start from the pristine layers, and every
// row starts from one well-defined cache state, whatever ran before it.
// The other kinds (run-bench.ts measures them): `mount` times the mount
// command until a listing of the root answers, `umount` the unmount command,
// `version` the CLI's --version (no mount), `peak-rss` the daemon's VmHWM in
// MiB after a stat walk and a tar of usr/. A row with `layers: N` runs on the
// layer-count tree spread over N lowers instead of the main two layers.

import { fileURLToPath } from 'node:url'
import type { Layout } from './build-layers.js'
import type { SystemName } from './mount-system.js'

export interface OpContext {
  mnt: string
  layout: Layout
}

/**
 * Issue 9's target for strata on a row, besides "no slower than
 * fuse-overlayfs", which holds for every row: at most `kernel` times the
 * kernel's median, or at most `max` in the row's unit.
 */
export interface Target {
  kernel?: number
  max?: number
}

interface OpBase {
  name: string
  cache: 'cold' | 'warm'
  /** on the layer-count tree over this many lowers */
  layers?: number
  target?: Target
}

export type Operation =
  | (OpBase & { kind: 'command', argv: (c: OpContext) => string[] })
  /** cold: strata without a spare daemon waiting (STRATA_SPARE=0): a Node start every time. */
  | (OpBase & { kind: 'mount' | 'umount', cold?: boolean })
  | (OpBase & { kind: 'version' | 'peak-rss' })

export type Unit = 's' | 'MiB'

/** Lower counts of the layer-count rows. */
export const LAYER_COUNTS = [1, 8, 32] as const

const randReader = fileURLToPath(new URL('./rand-read.js', import.meta.url))
const RAND_READS = 2000
const RAND_SEED = 4242

// GNU tar and grep notice a stdout that is /dev/null and skip the work (tar
// reads no file data, grep stops at the first match): pipe them through cat.
// bash for pipefail, so a read error inside the mount fails the run.
const pipeline = (script: string, ...args: string[]): string[] => ['bash', '-c', `set -o pipefail; ${script}`, 'bash', ...args]

const seqRead = ({ mnt, layout }: OpContext): string[] => ['dd', `if=${mnt}/${layout.bigFile}`, 'of=/dev/null', 'bs=1M', 'status=none']
export const statWalk = ({ mnt }: OpContext): string[] => ['find', mnt, '-printf', '%s %m %U\n']
export const tarUsr = ({ mnt }: OpContext): string[] => pipeline('tar cf - -C "$1" usr | cat > /dev/null', mnt)
const cmd = (name: string, cache: 'cold' | 'warm', argv: (c: OpContext) => string[], extra: { layers?: number, target?: Target } = {}): Operation =>
  ({ name, cache, kind: 'command', argv, ...extra })

// Issue 9's classes: data rows (through passthrough), warm rows, metadata rows.
const DATA = { target: { kernel: 1.1 } }
const WARM = { target: { kernel: 1.5 } }
const META = { target: { kernel: 2.5 } }

// Same workload on 1, 8, 32 lowers, grouped by workload so growth reads down a column.
const layerRows: Operation[] = [
  ...LAYER_COUNTS.map((n) => cmd(`find-cold-${n}L`, 'cold', statWalk, { layers: n })),
  ...LAYER_COUNTS.map((n) => cmd(`find-warm-${n}L`, 'warm', statWalk, { layers: n })),
  ...LAYER_COUNTS.map((n) => cmd(`ls-lR-warm-${n}L`, 'warm', ({ mnt }) => ['ls', '-lR', mnt], { layers: n })),
  // A container start pays the mount once per start, whatever the image's depth.
  ...LAYER_COUNTS.map((n): Operation => ({ name: `mount-${n}L`, cache: 'warm', kind: 'mount', layers: n })),
]

export const operations: readonly Operation[] = [
  cmd('seqread-cold', 'cold', seqRead, DATA),
  cmd('seqread-warm', 'warm', seqRead, DATA),
  cmd('randread-4k', 'cold', ({ mnt, layout }) => [process.execPath, randReader, `${mnt}/${layout.bigFile}`, String(RAND_READS), String(RAND_SEED)], DATA),
  cmd('find-cold', 'cold', statWalk, META),
  cmd('find-warm', 'warm', statWalk, WARM),
  // Not a tty and no -l: ls lists and sorts names, stats nothing.
  cmd('ls-dir-cold', 'cold', ({ mnt, layout }) => ['ls', `${mnt}/${layout.bigDir}`], META),
  cmd('ls-l-dir-warm', 'warm', ({ mnt, layout }) => ['ls', '-l', `${mnt}/${layout.bigDir}`], WARM),
  cmd('untar-small', 'cold', ({ mnt, layout }) => ['tar', 'xf', layout.smallTar, '-C', `${mnt}/tmp`], META),
  // Appending one byte is a data write, so the whole file must be copied up first.
  cmd('copyup-big', 'cold', ({ mnt, layout }) => ['sh', '-c', 'printf x >> "$1"', 'sh', `${mnt}/${layout.bigFile}`], DATA),
  cmd('copyup-small', 'cold', ({ mnt, layout }) =>
    ['sh', '-c', 'cd "$1" && while read -r f; do printf x >> "$f" || exit 1; done < "$2"', 'sh', mnt, layout.touchList], META),
  cmd('delete-small', 'cold', ({ mnt, layout }) => ['sh', '-c', 'cd "$1" && xargs rm -- < "$2"', 'sh', mnt, layout.touchList], META),
  cmd('rm-rf-tree', 'cold', ({ mnt, layout }) => ['rm', '-rf', `${mnt}/${layout.rmTree}`], META),
  cmd('write-big-fsync', 'cold', ({ mnt, layout }) =>
    ['dd', 'if=/dev/zero', `of=${mnt}/new.bin`, 'bs=1M', `count=${layout.sizes.bigMib}`, 'conv=fsync', 'status=none'], DATA),
  cmd('tar-usr', 'warm', tarUsr, META),
  cmd('grep-r-usr', 'warm', ({ mnt, layout }) => pipeline('grep -r -- "$1" "$2/usr" | cat > /dev/null', layout.needle, mnt), META),
  cmd('chroot-200-execs', 'warm', ({ mnt }) => ['chroot', mnt, '/bin/sh', '-c', 'i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done'], WARM),
  // The host's dpkg-query on the tree's status database: one big file parsed.
  cmd('dpkg-l', 'warm', ({ mnt }) => ['dpkg-query', `--admindir=${mnt}/var/lib/dpkg`, '-l'], WARM),
  // strata's mount and umount lines are handed to a spare daemon booted
  // beforehand (the usual case: src/cli/spare-main.ts); the -cold rows are
  // the first of a session, or any with STRATA_SPARE=0.
  { name: 'mount', cache: 'warm', kind: 'mount', target: { max: 0.050 } },
  { name: 'mount-cold', cache: 'warm', kind: 'mount', cold: true, target: { max: 0.050 } },
  { name: 'umount', cache: 'warm', kind: 'umount', target: { max: 0.030 } },
  { name: 'umount-cold', cache: 'warm', kind: 'umount', cold: true, target: { max: 0.030 } },
  { name: 'cli-version', cache: 'warm', kind: 'version', target: { max: 0.080 } },
  { name: 'daemon-peak-rss', cache: 'cold', kind: 'peak-rss', target: { max: 60 } },
  ...layerRows,
]

export function opUnit (op: Operation): Unit {
  return op.kind === 'peak-rss' ? 'MiB' : 's'
}

/** The systems a row means something for: the kernel has no daemon and no CLI of its own. */
export function opSystems (op: Operation, selected: readonly SystemName[]): SystemName[] {
  const noKernel = op.kind === 'version' || op.kind === 'peak-rss'
  return selected.filter((s) => !(noKernel && s === 'kernel'))
}
