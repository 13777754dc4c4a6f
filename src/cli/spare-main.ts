// A spare: a mount daemon booted before anyone asks for a mount. It loads
// everything a mount needs, listens on an abstract socket named after its
// identity and build (native/spare-key.h), and waits. The launcher
// (native/launcher-main.cc) hands it a line with its stdio, cwd and
// environment; the spare takes them as its own and runs the line as a
// daemon bin/strata had started would (mount-line.ts), with the client's
// socket as the readiness fd. The CLI hands over its checked mount requests
// the same way (fuse/mount-in-background.ts; STRATA_MOUNT_REQUEST in the
// environment, as daemon-main.ts takes it). So the caller waits for the
// mount itself, not for Node's start-up. One mount at a time: once handed
// one it is that mount's daemon. If the mount is still in use once it has
// settled, it boots the next spare for the next caller; if the mount ended
// by then (a container started and gone, as podman and `strata run --rm`
// do), it goes back to waiting itself, warm, and no Node boots at all for
// the next container start. An unmount (`strata umount MNT`) it serves and
// goes on waiting.
//
// Between binding its name and taking requests it warms up
// (spare-warm-up.ts); a caller that comes meanwhile waits in the socket's
// backlog. It leaves after STRATA_SPARE_IDLE seconds (default 600) without
// a request, or once strata is rebuilt. While it waits, its PID is in the
// run dir's spares/ (fuse/mount-daemon.ts sparePidPath), so that it can be
// found and ended by PID.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { native } from '../native/binding.js'
import { runMountLine } from './mount-line.js'
import { runMountRequest } from './mount-request.js'
import type { MountRequest } from '../fuse/mount-options.js'
import { DIST, startSpare } from './start-spare.js'
import { daemonOutlivesMounts, sparePidPath, unmount } from '../fuse/mount-daemon.js'
import { parseUmountArgv, type UmountLine } from './umount-line.js'
import { reportText } from './report.js'
import { warmUp } from './spare-warm-up.js'
// What a mount loads once mounted (fuse/serve.ts, fuse/mount-daemon.ts), loaded now.
import '../fuse/build-union.js'

const require = createRequire(import.meta.url)
require('node:crypto')

const DEFAULT_IDLE_S = 600

function idleMs (): number {
  const s = Number(process.env.STRATA_SPARE_IDLE ?? DEFAULT_IDLE_S)
  return Number.isFinite(s) && s > 0 ? Math.min(s, 86_400) * 1000 : DEFAULT_IDLE_S * 1000
}

interface Line { argv: string[], cwd: string, env: string[] }
type Accepted = NonNullable<ReturnType<typeof native.spareAccept>>

/** The payload's NUL-terminated fields: argc, args, cwd, envc, env (native/spare-wire.h). */
function parseLine (payload: Buffer): Line | null {
  const f = payload.toString('utf8').split('\0')
  const argc = Number(f[0])
  if (!Number.isInteger(argc) || argc < 0 || f.length < argc + 3) return null
  const argv = f.slice(1, 1 + argc)
  const cwd = f[1 + argc]
  const envc = Number(f[2 + argc])
  if (!Number.isInteger(envc) || envc < 0 || f.length < argc + 3 + envc) return null
  return { argv, cwd, env: f.slice(3 + argc, 3 + argc + envc) }
}

/**
 * Drops the PID files of spares that were killed (a signal ends a spare
 * where it waits, in native code, before it can remove its file).
 */
function sweepDeadPidFiles (dir: string): void {
  for (const n of fs.readdirSync(dir)) {
    try {
      const pid = Number(fs.readFileSync(path.join(dir, n), 'utf8'))
      if (!fs.existsSync(`/proc/${pid}`)) fs.rmSync(path.join(dir, n), { force: true })
    } catch { /* another spare swept it */ }
  }
}

/**
 * An unmount is served without taking the caller's place, and the spare
 * goes on waiting: it only needs the caller's cwd (for a relative mount
 * point) and stderr, and the run dir, which is the spare's own (its name
 * covers the variables the run dir is found from).
 */
async function serveUmount (got: Accepted, line: Line, u: UmountLine | null): Promise<void> {
  let code = 0
  if (!u) {
    // --help, a typo'd flag: the full CLI's to say.
    try { fs.writeSync(got.conn, 'cli\n') } catch { /* the caller went away */ }
    for (const fd of [...got.fds, got.conn]) fs.closeSync(fd)
    return
  }
  try {
    await unmount(path.resolve(line.cwd, u.mountpoint), u.lazy)
  } catch (err) {
    try { fs.writeSync(got.fds[2], reportText(err)) } catch { /* the caller went away */ }
    code = 1
  }
  try { fs.writeSync(got.conn, `exit ${code}\n`) } catch { /* the caller went away */ }
  for (const fd of [...got.fds, got.conn]) fs.closeSync(fd)
}

/**
 * Makes process.env `env`, changing only what differs: each change is a
 * setenv or unsetenv, and a recycled spare's next caller (podman again)
 * mostly brings the environment the last one had.
 */
function becomeEnv (env: Record<string, string>): void {
  for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k]
  for (const [k, v] of Object.entries(env)) if (process.env[k] !== v) process.env[k] = v
}

/** Becomes the caller: its stdio, environment and cwd. */
function adopt (got: { fds: [number, number, number] }, line: Line): void {
  for (let i = 0; i < 3; i++) {
    native.dup2(got.fds[i], i)
    fs.closeSync(got.fds[i])
  }
  const env: Record<string, string> = {}
  for (const kv of line.env) {
    const eq = kv.indexOf('=')
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1)
  }
  becomeEnv(env)
  process.chdir(line.cwd)
  // As ps would show the daemon that bin/strata or the CLI would have started.
  const main = path.join(path.dirname(process.argv[1]), process.env.STRATA_MOUNT_REQUEST ? 'daemon-main.cjs' : 'mount-line-main.cjs')
  process.argv = [process.argv[0], main, ...line.argv]
  native.setCmdline(process.argv)
}

/**
 * Waits for a line until the idle time is up, or until strata is rebuilt
 * (a new name: no caller will look for this spare's again).
 */
function waitForLine (lfd: number, name: string): ReturnType<typeof native.spareAccept> {
  const deadline = Date.now() + idleMs()
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0 || native.spareName(DIST) !== name) return null
    const got = native.spareAccept(lfd, Math.min(left, 5000))
    if (got) return got
  }
}

/** What a spare was booted with, which a recycled one goes back to (its name is of them). */
const bootEnv = { ...process.env }
const bootCmdline = [process.argv[0], process.argv[1]]

/**
 * Whether a spare whose mount has ended may wait for the next one in the
 * same process, warm, instead of booting another (~0.2 s of CPU on every
 * container start). A daemon that grew (a big tree walked) leaves, and a
 * fresh spare takes its place.
 */
const RECYCLE_MAX_RSS = 96 * 1024 * 1024

/**
 * Back to what a waiting spare is, once its mount has ended: no caller's
 * stdio, environment, cwd or readiness fd left open (a caller that reads
 * its mount program's output to EOF, as containers/storage does, would
 * otherwise wait for it), and the spare's own command line again. False
 * where there is no /dev/null to put in the stdio's place (a private /dev):
 * then this process ends instead, and the caller's stdio with it.
 */
function recycle (conn: number): boolean {
  // Not told (a line that failed before serving): close it, so the caller
  // sees the end. Told, it was closed then, and the number may be reused.
  if (process.env.STRATA_READY_FD === String(conn)) fs.closeSync(conn)
  let nul: number
  try { nul = fs.openSync('/dev/null', 'r+') } catch { return false }
  for (let i = 0; i < 3; i++) native.dup2(nul, i)
  fs.closeSync(nul)
  becomeEnv(bootEnv as Record<string, string>)
  process.chdir('/')
  process.exitCode = undefined
  process.argv = [...bootCmdline]
  native.setCmdline(bootCmdline)
  return true
}

/**
 * Listens, and serves what comes: umount lines (and goes on), then one
 * mount, as its daemon. Resolves with the connection of that mount's
 * caller once the mount has ended, or null when this spare is done (idle,
 * rebuilt, another spare waits, or a request it could not read).
 */
async function serveAsSpare (name: string, lfd: number): Promise<number | null> {
  const pidFile = sparePidPath(name)
  fs.mkdirSync(path.dirname(pidFile), { recursive: true, mode: 0o700 })
  sweepDeadPidFiles(path.dirname(pidFile))
  fs.writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o644 })
  let got: ReturnType<typeof native.spareAccept>
  let line: Line | null = null
  try {
    for (;;) {
      got = waitForLine(lfd, name)
      line = got && parseLine(got.payload)
      if (!got || !line || (line.argv[0] !== 'umount' && line.argv[0] !== 'unmount')) break
      await serveUmount(got, line, parseUmountArgv(line.argv))
    }
  } finally {
    fs.closeSync(lfd)
    try { fs.unlinkSync(pidFile) } catch { /* swept by another spare */ }
  }
  if (!got) return null
  if (!line) {
    fs.writeSync(got.fds[2], 'strata: a spare mount daemon got a request it cannot read; run the line again with STRATA_SPARE=0\n')
    for (const fd of [...got.fds, got.conn]) fs.closeSync(fd)
    process.exitCode = 1
    return null
  }
  adopt(got, line)
  process.env.STRATA_READY_FD = String(got.conn)
  const request = process.env.STRATA_MOUNT_REQUEST
  delete process.env.STRATA_MOUNT_REQUEST
  // A mount still in use once settled gets a spare of its own for the next
  // caller; one that ended by then brings this one back instead.
  const then = (ended: boolean): void => { if (!ended) startSpare() }
  if (request) await runMountRequest(JSON.parse(request) as MountRequest, then)
  else await runMountLine(line.argv, then)
  return got.conn
}

const name = native.spareName(DIST)
let lfd = name ? native.spareListen(name) : null
// No name (no build id) or one already waiting: nothing to do.
if (lfd !== null) {
  native.setCmdline(bootCmdline)
  daemonOutlivesMounts()
  await warmUp()
  for (;;) {
    const conn = await serveAsSpare(name, lfd)
    if (conn === null) break
    const failed = process.exitCode !== undefined && process.exitCode !== 0
    // Another spare may have taken the name meanwhile (booted as this
    // mount settled): then it is the one that waits.
    lfd = recycle(conn) && process.memoryUsage.rss() <= RECYCLE_MAX_RSS ? native.spareListen(name) : null
    if (lfd === null) {
      startSpare()
      process.exitCode = failed ? 1 : 0
      break
    }
  }
}
