// Starting a mount daemon (used by mount, run and build) for a request the
// caller has checked: handed to a spare daemon if one of this process's kind
// waits (cli/spare-main.ts: no Node start on the caller's path), else
// cli/daemon-main.js started in the background. The entry points in cli/
// are named by path only, so no import points up at cli/.
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { native } from '../native/binding.js'
import { daemonFailure, logPath, startDaemon } from './mount-daemon.js'
import type { MountRequest } from './mount-options.js'
import { mayHaveLazyTree } from '../store/lazy-tree-name.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const dist = path.resolve(here, '..')
/** The CLI's bundle (scripts/bundle-entries.mjs): a container's __init and __supervise are on its start's clock. */
export const cliMain = path.resolve(dist, 'cli', 'main.cjs')
// Its bundle (scripts/bundle-entries.mjs): a container start waits for it.
const daemonMain = path.resolve(dist, 'cli', 'daemon-main.cjs')

/**
 * Hands `req` to a waiting spare, with stdio as daemon-main.js gets them
 * (nothing in, the mount's log out): the daemon's PID, or null when no
 * spare took it (nothing was done). A spare that took it and failed throws.
 */
function handToSpare (req: MountRequest): number | null {
  if (process.env.STRATA_SPARE === '0') return null
  const log = logPath(req.mountpoint)
  fs.mkdirSync(path.dirname(log), { recursive: true, mode: 0o700 })
  const out = fs.openSync(log, 'a')
  let nul = -1
  try {
    nul = fs.openSync('/dev/null', 'r')
    const env = Object.entries({ ...process.env, STRATA_MOUNT_REQUEST: JSON.stringify(req) }).map(([k, v]) => `${k}=${v ?? ''}`)
    const ready = native.spareHandOff(dist, [req.mountpoint], process.cwd(), env, [nul, out, out])
    if (ready === null) return null
    if (ready.startsWith('ok ')) return Number(ready.slice(3))
    throw daemonFailure(ready, log)
  } catch (err) {
    // No /dev/null (a private /dev): no spare, as before.
    if (nul < 0) return null
    throw err
  } finally {
    fs.closeSync(out)
    if (nul >= 0) fs.closeSync(nul)
  }
}

/**
 * The daemon's environment beyond ours: the request, and, for a mount with
 * no lazily pulled layer (no TLS in that daemon), our NODE_EXTRA_CA_CERTS
 * held aside (base/held-ca-certs.ts: Node loads it as it starts, ~40 ms),
 * to be put back for the spare it boots.
 */
function daemonEnv (req: MountRequest): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { STRATA_MOUNT_REQUEST: JSON.stringify(req) }
  const ca = process.env.NODE_EXTRA_CA_CERTS
  if (ca && !mayHaveLazyTree(req.lowerdirs)) Object.assign(env, { NODE_EXTRA_CA_CERTS: '', STRATA_HELD_CA_CERTS: ca })
  return env
}

/** Serves the (checked) request from a spare or a small entry point of its own: no CLI to load. */
export async function mountInBackground (req: MountRequest): Promise<number> {
  return handToSpare(req) ?? await startDaemon(daemonMain, [req.mountpoint], req.mountpoint, daemonEnv(req))
}
