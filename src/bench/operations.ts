// The operations the bench times, in table order. Each one is a single child
// process (a shell where a pipeline or a loop is needed, so that one process
// does the whole job and no per-file spawn cost swamps the filesystem's).
// Every measurement gets a fresh mount with fresh upper/work dirs, then
// sync + drop_caches; `warm` ops then run once untimed before the timed run.
// So mutating ops always start from the pristine layers, and every op starts
// from one well-defined cache state, whatever ran before it.

import { fileURLToPath } from 'node:url'
import type { Layout } from './build-layers.js'

export interface OpContext {
  mnt: string;
  layout: Layout;
}

export interface Operation {
  name: string;
  cache: 'cold' | 'warm';
  argv(c: OpContext): string[];
}

const randReader = fileURLToPath(new URL('./rand-read.js', import.meta.url))
const RAND_READS = 2000
const RAND_SEED = 4242

// GNU tar and grep notice a stdout that is /dev/null and skip the work (tar
// reads no file data, grep stops at the first match): pipe them through cat.
// bash for pipefail, so a read error inside the mount fails the run.
const pipeline = (script: string, ...args: string[]): string[] => ['bash', '-c', `set -o pipefail; ${script}`, 'bash', ...args]

const seqRead = ({ mnt, layout }: OpContext): string[] => ['dd', `if=${mnt}/${layout.bigFile}`, 'of=/dev/null', 'bs=1M', 'status=none']
const statWalk = ({ mnt }: OpContext): string[] => ['find', mnt, '-printf', '%s %m\n']

export const operations: readonly Operation[] = [
  { name: 'seqread-cold', cache: 'cold', argv: seqRead },
  { name: 'seqread-warm', cache: 'warm', argv: seqRead },
  {
    name: 'randread-4k',
    cache: 'cold',
    argv: ({ mnt, layout }) => [process.execPath, randReader, `${mnt}/${layout.bigFile}`, String(RAND_READS), String(RAND_SEED)],
  },
  { name: 'find-cold', cache: 'cold', argv: statWalk },
  { name: 'find-warm', cache: 'warm', argv: statWalk },
  { name: 'ls-l-10k', cache: 'warm', argv: ({ mnt, layout }) => ['ls', '-l', `${mnt}/${layout.dir10k}`] },
  { name: 'untar-5k', cache: 'cold', argv: ({ mnt, layout }) => ['tar', 'xf', layout.smallTar, '-C', `${mnt}/tmp`] },
  // Appending one byte is a data write, so the whole file must be copied up first.
  { name: 'copyup-big', cache: 'cold', argv: ({ mnt, layout }) => ['sh', '-c', 'printf x >> "$1"', 'sh', `${mnt}/${layout.bigFile}`] },
  {
    name: 'copyup-1000',
    cache: 'cold',
    argv: ({ mnt, layout }) => ['sh', '-c', 'cd "$1" && while read -r f; do printf x >> "$f" || exit 1; done < "$2"', 'sh', mnt, layout.touchList],
  },
  { name: 'delete-1000', cache: 'cold', argv: ({ mnt, layout }) => ['sh', '-c', 'cd "$1" && xargs rm -- < "$2"', 'sh', mnt, layout.touchList] },
  { name: 'rm-rf-tree', cache: 'cold', argv: ({ mnt, layout }) => ['rm', '-rf', `${mnt}/${layout.rmTree}`] },
  {
    name: 'write-big-fsync',
    cache: 'cold',
    argv: ({ mnt, layout }) => ['dd', 'if=/dev/zero', `of=${mnt}/new.bin`, 'bs=1M', `count=${layout.bigMib}`, 'conv=fsync', 'status=none'],
  },
  { name: 'tar-usr', cache: 'warm', argv: ({ mnt }) => pipeline('tar cf - -C "$1" usr | cat > /dev/null', mnt) },
  { name: 'grep-r-usr', cache: 'warm', argv: ({ mnt, layout }) => pipeline('grep -r -- "$1" "$2/usr" | cat > /dev/null', layout.needle, mnt) },
  {
    name: 'chroot-200-execs',
    cache: 'warm',
    argv: ({ mnt }) => ['chroot', mnt, '/bin/sh', '-c', 'i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done'],
  },
]
