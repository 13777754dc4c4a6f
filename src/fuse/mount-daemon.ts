// Starting and stopping a background mount daemon. `strata mount` starts a
// daemon entry point as a detached child (bin/strata does the same in sh for
// raw mounts), and returns once that child reports the mount ready (or why it
// could not). A small record per mount under the run dir, written by the
// daemon itself, lets `strata umount` find the daemon's PID,
// wait for it to finish, and clean up after one that died. The run dir is
// /run/strata for real root only; anyone else (a user, root of a user
// namespace) gets $XDG_RUNTIME_DIR/strata or a private /tmp/strata-UID,
// never a path only real root may write.
import type { spawn as Spawn, spawnSync as SpawnSync } from 'node:child_process'
import type { createHash as CreateHash } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { native, C } from '../native/binding.js'
import { errnoError, errnoErrorOf } from '../base/errno-error.js'
import { isMounted, isRealRoot } from './mount-options.js'

// A daemon reports ready right after loading this file, and needs neither
// module on that path (only a deep mount point's record name hashes; only
// starters and fusermount3 spawn): loaded when first used.
const require = createRequire(import.meta.url)
const createHash: typeof CreateHash = (...a) => (require('node:crypto') as { createHash: typeof CreateHash }).createHash(...a)
const spawn = ((...a: Parameters<typeof Spawn>) => (require('node:child_process') as { spawn: typeof Spawn }).spawn(...a)) as typeof Spawn
const spawnSync = ((...a: Parameters<typeof SpawnSync>) => (require('node:child_process') as { spawnSync: typeof SpawnSync }).spawnSync(...a)) as typeof SpawnSync

function runDir (): string {
  if (process.env.STRATA_RUN_DIR) return process.env.STRATA_RUN_DIR
  if (isRealRoot()) return '/run/strata'
  const uid = process.getuid?.()
  const xdg = process.env.XDG_RUNTIME_DIR
  if (xdg && fs.statSync(xdg, { throwIfNoEntry: false })?.uid === uid) return path.join(xdg, 'strata')
  const dir = path.join('/tmp', `strata-${uid}`)
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  // /tmp is shared: refuse a dir someone else made or opened up.
  const st = fs.lstatSync(dir)
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw errnoError('EACCES', `${dir} is not a private directory of uid ${uid}; set XDG_RUNTIME_DIR or STRATA_RUN_DIR`)
  }
  return dir
}

let runDirCache: string | undefined
const RUN_DIR_OF = (): string => (runDirCache ??= runDir())

/**
 * The record's file: the mount point, URL-encoded so it reads back, or, when
 * that would pass NAME_MAX (deep test dirs do), its tail and a hash of the
 * whole path. The record itself holds the mount point either way.
 */
export function recordPath (mountpoint: string): string {
  let name = encodeURIComponent(mountpoint)
  if (name.length > 200) name = `${name.slice(-120)}-${createHash('sha256').update(mountpoint).digest('hex').slice(0, 32)}`
  return path.join(RUN_DIR_OF(), 'mounts', name + '.json')
}

export interface MountRecord {
  pid: number
  mountpoint: string
  log: string
  /** The upper dir it serves, if any (to find a container's mount). */
  upperdir?: string
  /**
   * Its daemon lives on once the mount has ended (a spare daemon waits for
   * the next mount: cli/spare-main.ts): it is done when it has removed this
   * record, not when it exits.
   */
  outlives?: boolean
}

let outlivesMounts = false

/** Said by a process that serves one mount after another: its records say so. */
export function daemonOutlivesMounts (): void {
  outlivesMounts = true
}

export function readRecord (mountpoint: string): MountRecord | null {
  try {
    return JSON.parse(fs.readFileSync(recordPath(mountpoint), 'utf8')) as MountRecord
  } catch {
    return null
  }
}

// A daemon's allocations are small and short-lived (one request each): a
// 1 MiB young generation instead of V8's 16 MiB cuts its peak RSS by ~8 MiB
// (scripts/bench daemon-peak-rss, 77-79 → 69-70 MiB on --quick) with no
// slowdown the bench's find and tar rows could see. --optimize-for-size
// grows the old generation in smaller steps: peak RSS after the bench's
// find and tar 102 -> 93 MiB, for ~3-5% more daemon CPU (interleaved runs:
// find and tar 3.29 -> 3.39 s, small copy-ups 1.31 -> 1.33 s, medians of 3).
// bin/strata starts its daemons with the same flags.
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size']

/**
 * Where a spare (cli/spare-main.ts) waiting on abstract socket `name` keeps
 * its PID while it waits, so that it can be found and stopped by PID.
 */
export function sparePidPath (name: string): string {
  return path.join(RUN_DIR_OF(), 'spares', name + '.pid')
}

/** Where the daemon of `mountpoint` writes what it has to say (kept only when non-empty). */
export function logPath (mountpoint: string): string {
  return recordPath(mountpoint).replace(/\.json$/, '.log')
}

/**
 * Run by a background daemon once its mount is made, before it reports
 * ready: from then on `strata umount` can find it. The daemon writes its
 * own record so that a starter that is not Node (bin/strata) needs none.
 */
export function writeOwnRecord (mountpoint: string, upperdir?: string): void {
  fs.mkdirSync(path.join(RUN_DIR_OF(), 'mounts'), { recursive: true, mode: 0o700 })
  const rec: MountRecord = { pid: process.pid, mountpoint, log: logPath(mountpoint), upperdir, ...(outlivesMounts ? { outlives: true } : {}) }
  const tmp = recordPath(mountpoint) + '.tmp'
  // Explicit modes: a daemon runs with umask 0 (serve.ts).
  fs.writeFileSync(tmp, JSON.stringify(rec), { mode: 0o644 })
  fs.renameSync(tmp, recordPath(mountpoint))
}

/**
 * Points this process's stdout and stderr at its log, and its stdin at
 * /dev/null (bin/strata starts a daemon with the caller's; a caller that
 * reads them to EOF, as containers/storage does, would otherwise wait for
 * the unmount).
 */
export function detachStdio (mountpoint: string): void {
  fs.mkdirSync(path.join(RUN_DIR_OF(), 'mounts'), { recursive: true, mode: 0o700 })
  const fd = fs.openSync(logPath(mountpoint), 'a', 0o600)
  native.dup2(fd, 1)
  native.dup2(fd, 2)
  fs.closeSync(fd)
  let nul: number | undefined
  // A private /dev without null (a test's tmpfs): keep the caller's stdin.
  try { nul = fs.openSync('/dev/null', 'r') } catch { return }
  native.dup2(nul, 0)
  fs.closeSync(nul)
}

/**
 * A background daemon leaves the starter's cwd (as fuse_daemonize does), so
 * as not to pin a filesystem it was merely started from. Its request's paths
 * are absolute already; the run dir and store named in the environment are
 * made so first.
 */
export function leaveCwd (): void {
  for (const v of ['STRATA_RUN_DIR', 'STRATA_ROOT']) {
    if (process.env[v]) process.env[v] = path.resolve(process.env[v])
  }
  process.chdir('/')
}

/**
 * Runs `script args` (a node entry point that serves a mount) as a detached
 * daemon and waits for it to report. Resolves with the daemon's PID. The
 * daemon writes its mount record itself before it reports ready.
 */
export async function startDaemon (script: string, args: string[], mountpoint: string, env: NodeJS.ProcessEnv = {}): Promise<number> {
  fs.mkdirSync(path.join(RUN_DIR_OF(), 'mounts'), { recursive: true, mode: 0o700 })
  const log = logPath(mountpoint)
  const out = fs.openSync(log, 'a')
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, script, ...args], {
    detached: true,
    stdio: ['ignore', out, out, 'pipe'],
    env: { ...process.env, ...env, STRATA_READY_FD: '3' },
  })
  fs.closeSync(out)
  const ready = child.stdio[3] as NodeJS.ReadableStream
  let text = ''
  ready.setEncoding('utf8')
  ready.on('data', (d: string) => { text += d })
  const result = await new Promise<string>((resolve) => {
    ready.on('end', () => { resolve(text.trim()) })
    child.on('exit', () => setTimeout(() => { resolve(text.trim()) }, 50))
  })
  if (result.startsWith('ok ')) {
    child.unref()
    ;(ready as unknown as { destroy(): void }).destroy()
    return child.pid!
  }
  throw daemonFailure(result, log)
}

/** Why a daemon that did not say "ok" failed: its "error …" line, else the end of its log. */
export function daemonFailure (readiness: string, log: string): Error {
  let tail = ''
  try { tail = fs.readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' / ') } catch { /* no log */ }
  return errnoErrorOf(readiness.startsWith('error ') ? readiness.slice(6) : `the mount daemon exited (${tail || 'no output'})`)
}

function fusermountU (mountpoint: string, lazy: boolean): void {
  const r = spawnSync('fusermount3', ['-u', ...(lazy ? ['-z'] : []), mountpoint], { encoding: 'utf8' })
  if (r.error) throw errnoError('EPERM', `cannot unmount ${mountpoint}: not root, and fusermount3 is missing (${r.error.message})`)
  if (r.status !== 0) {
    const why = r.stderr.trim()
    throw errnoError(/busy/i.test(why) ? 'EBUSY' : 'EPERM', `cannot unmount ${mountpoint}: ${why}`)
  }
}

/** Where the strata mount serving `upperdir` is, if one is. */
export function mountedAt (upperdir: string): string | null {
  let names: string[]
  try { names = fs.readdirSync(path.join(RUN_DIR_OF(), 'mounts')) } catch { return null }
  for (const n of names.filter((x) => x.endsWith('.json'))) {
    try {
      const rec = JSON.parse(fs.readFileSync(path.join(RUN_DIR_OF(), 'mounts', n), 'utf8')) as MountRecord
      if (rec.upperdir === upperdir && isMounted(rec.mountpoint)) return rec.mountpoint
    } catch { /* being written or removed */ }
  }
  return null
}

/**
 * Refuses a second mount of an upper already served (`what` names it in the
 * message: the upper dir, or a container's name): two daemons on one upper
 * would each cache their own view of it and disagree.
 */
export function refuseMountedUpper (upperdir: string | undefined, what = `upperdir ${upperdir}`): void {
  const already = upperdir ? mountedAt(upperdir) : null
  if (already) throw errnoError('EBUSY', `${what} is already mounted at ${already} (strata umount ${already} first, or use that mount)`)
}

const alive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/**
 * Unmounts a strata mount and waits for its daemon to exit. Works on a mount
 * whose daemon died ("Transport endpoint is not connected"). `lazy` detaches
 * a busy mount instead of failing.
 */
export async function unmount (mountpointArg: string, lazy = false): Promise<void> {
  // No realpath: on a dead FUSE mount even stat fails.
  const mountpoint = path.resolve(mountpointArg)
  const rec = readRecord(mountpoint)
  if (!isMounted(mountpoint)) {
    if (rec) fs.rmSync(recordPath(mountpoint), { force: true })
    throw errnoError('EINVAL', `${mountpoint} is not mounted`)
  }
  try {
    try {
      native.umount2(mountpoint, lazy ? C.MNT_DETACH : 0)
    } catch (err) {
      // A user's own FUSE mount is unmounted through the setuid helper.
      if ((err as { code?: string }).code !== 'EPERM' || isRealRoot()) throw err
      fusermountU(mountpoint, lazy)
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'EBUSY') {
      throw errnoError('EBUSY', `${mountpoint} is busy (a process has files open or its cwd there); close them, or use --lazy`)
    }
    throw err
  }
  if (rec && rec.pid > 0) {
    // Woken by the daemon's exit itself (a pidfd), or by the removal of the
    // record of one that lives on (inotify), not by polling; a daemon that
    // is not done within 10 s has lost its mount anyway.
    if (alive(rec.pid)) await native.waitExit(rec.pid, 10_000, rec.outlives === true ? recordPath(mountpoint) : undefined)
  }
  fs.rmSync(recordPath(mountpoint), { force: true })
  // Keep the daemon's log only when it has something to say.
  if (rec && fs.statSync(rec.log, { throwIfNoEntry: false })?.size === 0) fs.rmSync(rec.log, { force: true })
}

/**
 * Run by the daemon once its session ends, however it was unmounted (plain
 * umount(8) and fusermount3 -u included): its record and an empty log go.
 */
export function dropOwnRecord (mountpoint: string): void {
  const rec = readRecord(mountpoint)
  if (!rec || rec.pid !== process.pid) return
  fs.rmSync(recordPath(mountpoint), { force: true })
  if (fs.statSync(rec.log, { throwIfNoEntry: false })?.size === 0) fs.rmSync(rec.log, { force: true })
}
