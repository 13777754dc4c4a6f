// Starting a mount daemon (used by mount, run and build): cli/daemon-main.js
// in the background, handed the request the caller has checked. The entry
// points in cli/ are named by path only, so no import points up at cli/.
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { startDaemon } from './mount-daemon.js'
import type { MountRequest } from './mount-options.js'

const here = path.dirname(fileURLToPath(import.meta.url))
export const cliMain = path.resolve(here, '..', 'cli', 'main.js')
const daemonMain = path.resolve(here, '..', 'cli', 'daemon-main.js')

/** Serves the (checked) request from a small entry point of its own: no CLI to load. */
export async function mountInBackground (req: MountRequest): Promise<number> {
  return startDaemon(daemonMain, [req.mountpoint], req.mountpoint, { STRATA_MOUNT_REQUEST: JSON.stringify(req) })
}
