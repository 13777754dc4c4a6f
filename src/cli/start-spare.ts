// Boots a spare (spare-main.ts) for the next mount, unless one of this
// process's kind already waits or STRATA_SPARE=0. Called by a mount daemon
// once its own mount has settled (whenSettled), so the spare's start-up is
// off every caller's path: the first mount of a kind pays Node's start, the
// next ones find a spare.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { native } from '../native/binding.js'
import { DAEMON_NODE_FLAGS } from '../fuse/mount-daemon.js'

const script = new URL('./spare-main.js', import.meta.url).pathname
/** The compiled TypeScript's dir, whose build a spare's name is of (native/spare-key.h). */
export const DIST = new URL('..', import.meta.url).pathname.replace(/\/$/, '')

/**
 * Room for a handed-over line in the spare's command line (native
 * setCmdline writes it over its own argv): podman's lowerdir lists of 100+
 * layers fit.
 */
const CMDLINE_ROOM = 32 * 1024

/**
 * The flags a spare runs with: those of a mount daemon (DAEMON_NODE_FLAGS),
 * and --no-lazy: V8 compiles every function of every module as it loads
 * them, in the spare's boot, which is off every caller's path. Lazily, each
 * function on a mount's path (parse the line, adopt the caller, write the
 * record) compiles when the handed-over line first runs it, on the caller's
 * clock: 0.3–0.4 ms of a spare's ~3 ms from request to "ok" here.
 */
export const SPARE_NODE_FLAGS = [...DAEMON_NODE_FLAGS, '--no-lazy']

/**
 * How long a new mount is left to its caller before the next spare boots
 * (a whole Node start, ~0.1 s of CPU, which on a small machine would
 * otherwise compete with the very container start this mount is for). A
 * mount that ends sooner boots it as it ends.
 */
const SETTLE_MS = 1000

/**
 * Runs `then` once: SETTLE_MS after onReady (the mount answers), or at
 * settled() (the mount ended, or never came), whichever is first; `ended`
 * says which (a spare whose mount ended goes back to waiting itself:
 * spare-main.ts).
 */
export function whenSettled (then?: (ended: boolean) => void): { onReady: () => void, settled: () => void } {
  let timer: NodeJS.Timeout | undefined
  const run = (ended: boolean): void => {
    clearTimeout(timer)
    const f = then
    then = undefined
    f?.(ended)
  }
  return { onReady: () => { timer = setTimeout(run, SETTLE_MS, false).unref() }, settled: () => { run(true) } }
}

export function startSpare (): void {
  if (process.env.STRATA_SPARE === '0') return
  const name = native.spareName(DIST)
  if (!name) return
  // A free name now is only a hint (two may race; the loser's bind fails
  // and it exits at once), but it saves a Node start when one waits.
  const probe = native.spareListen(name)
  if (probe === null) return
  fs.closeSync(probe)
  // Our readiness fd is no spare's (and would be part of its name).
  const { STRATA_READY_FD: _, ...env } = process.env
  const child = spawn(process.execPath, [...SPARE_NODE_FLAGS, script, ' '.repeat(CMDLINE_ROOM)], {
    detached: true,
    stdio: 'ignore',
    cwd: '/',
    env,
  })
  child.on('error', () => { /* no spare: the next line boots its own daemon */ })
  child.unref()
}
