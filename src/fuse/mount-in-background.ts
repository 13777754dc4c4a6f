// Starting a mount daemon: the strata CLI, run again as `strata mount -f …`
// in the background (used by mount, run and build). The CLI's entry point is
// named by path only, so no import points up at cli/.
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { startDaemon } from './mount-daemon.js'
import type { MountRequest } from './mount-options.js'

export const cliMain = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js')

export async function mountInBackground (req: MountRequest): Promise<number> {
  const args = ['mount', '-f', '--lowerdir', req.lowerdirs.join(':'), '-o', `timeout=${req.timeout}`]
  if (req.upperdir && req.workdir) args.push('--upperdir', req.upperdir, '--workdir', req.workdir)
  if (req.fuseOptions.length) args.push('-o', req.fuseOptions.join(','))
  if (req.overlayOptions.length) args.push('-o', req.overlayOptions.join(','))
  args.push(req.mountpoint)
  return startDaemon(cliMain, args, req.mountpoint, req.upperdir)
}
