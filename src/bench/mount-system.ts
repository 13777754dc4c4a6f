// Mounts one overlay implementation on given layers, and unmounts it for sure.
// The three systems take the same lowerdir (top layer first), upperdir and
// workdir, so each measurement differs only in the filesystem under test.
// unmount() escalates: the system's own unmount, retried while busy, then a
// lazy unmount plus a FUSE connection abort, so a wedged daemon cannot leave a
// mount behind.

import fs from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { timedSpawn } from './timed-spawn.js'

export const systemNames = ['kernel', 'fuse-overlayfs', 'strata'] as const
export type SystemName = (typeof systemNames)[number]

/**
 * strata as scripts/setup installs it (/usr/local/bin/strata): the native
 * launcher of this build, or bin/strata where it was not built.
 */
const launcher = fileURLToPath(new URL('../../build/Release/strata', import.meta.url))
export const strataBin = fs.existsSync(launcher) ? launcher : fileURLToPath(new URL('../../bin/strata', import.meta.url))

export interface MountSpec {
  lowers: readonly string[];
  upper: string;
  work: string;
  mnt: string;
  /** stderr of mount helpers and daemons */
  log: string;
}

export interface Mount {
  readonly system: SystemName;
  readonly mnt: string;
  unmount(): Promise<void>;
}

const MOUNT_TIMEOUT_MS = 60_000

export function mountArgv (system: SystemName, s: MountSpec): string[] {
  const lower = s.lowers.join(':')
  switch (system) {
    case 'kernel':
      return ['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${s.upper},workdir=${s.work}`, s.mnt]
    case 'fuse-overlayfs':
      return ['fuse-overlayfs', '-o', `lowerdir=${lower},upperdir=${s.upper},workdir=${s.work}`, s.mnt]
    case 'strata':
      return [strataBin, 'mount', '--lowerdir', lower, '--upperdir', s.upper, '--workdir', s.work, s.mnt]
  }
}

export function unmountArgv (system: SystemName, mnt: string): string[] {
  switch (system) {
    case 'kernel':
      return ['umount', mnt]
    case 'fuse-overlayfs':
      return ['fusermount3', '-u', mnt]
    case 'strata':
      return [strataBin, 'umount', mnt]
  }
}

interface MountInfo {
  mnt: string;
  dev: string;
  fstype: string;
}

/** Mounts as this process sees them (mountinfo escapes blanks as octal). */
export async function listMounts (): Promise<MountInfo[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8')
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = line.split(' ')
      return { mnt: unescape(f[4]), dev: f[2], fstype: f[f.indexOf('-') + 1] }
    })
}

/** The FUSE connection number of the mount at `mnt` (its /sys/fs/fuse/connections name), if it is a FUSE mount. */
export async function fuseConnection (mnt: string): Promise<number | undefined> {
  const m = (await listMounts()).find((x) => x.mnt === mnt)
  if (!m?.fstype.startsWith('fuse')) return undefined
  // Connection dirs are named after the kernel dev_t (major << 20 | minor).
  const [major, minor] = m.dev.split(':').map(Number)
  return (major << 20) | minor
}

export async function isMounted (path: string): Promise<boolean> {
  return (await listMounts()).some((m) => m.mnt === path)
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The handle of a mount of `system` at spec.mnt, made or about to be made by the caller. */
export function mountHandle (system: SystemName, spec: MountSpec): Mount {
  return { system, mnt: spec.mnt, unmount: () => unmountPath(system, spec.mnt, spec.log) }
}

export async function mountSystem (system: SystemName, spec: MountSpec, signal?: AbortSignal): Promise<Mount> {
  if (await isMounted(spec.mnt)) throw new Error(`${spec.mnt} is already mounted`)
  const mount = mountHandle(system, spec)
  try {
    await timedSpawn(mountArgv(system, spec), { log: spec.log, timeoutMs: MOUNT_TIMEOUT_MS, signal })
    // The helpers return once mounted; check rather than trust it.
    if (!(await isMounted(spec.mnt))) throw new Error(`${system}: mount command succeeded but ${spec.mnt} is not mounted`)
  } catch (err) {
    // A failed or interrupted mount may still have mounted something.
    await mount.unmount()
    throw err
  }
  return mount
}

async function unmountPath (system: SystemName, mnt: string, log: string): Promise<void> {
  for (let attempt = 0; attempt < 5 && (await isMounted(mnt)); attempt++) {
    try {
      await timedSpawn(unmountArgv(system, mnt), { log, timeoutMs: MOUNT_TIMEOUT_MS })
    } catch {
      await sleep(200 * (attempt + 1)) // EBUSY right after a killed child: wait for it to be reaped
    }
  }
  const stuck = (await listMounts()).find((m) => m.mnt === mnt)
  if (!stuck) return
  await timedSpawn(['umount', '-l', mnt], { log, timeoutMs: MOUNT_TIMEOUT_MS }).catch(() => {})
  const conn = await fuseConnection(mnt)
  if (conn !== undefined) await writeFile(`/sys/fs/fuse/connections/${conn}/abort`, '1').catch(() => {})
  if (await isMounted(mnt)) throw new Error(`could not unmount ${mnt}`)
}
