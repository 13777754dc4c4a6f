// A mount request the CLI has checked (`strata mount NAME`, `strata run`,
// build steps: fuse/mount-in-background.ts), served in this process, which
// then is that mount's daemon: run by daemon-main.ts, or by a spare that
// was handed the request (spare-main.ts). Readiness goes to STRATA_READY_FD
// (fuse/serve.ts); stdout and stderr are already the mount's log.
import { serve } from '../fuse/serve.js'
import { dropOwnRecord, leaveCwd, writeOwnRecord } from '../fuse/mount-daemon.js'
import type { MountRequest } from '../fuse/mount-options.js'
import { layerOpener } from './layer-opener.js'
import { whenSettled } from './start-spare.js'

/** Serves `req`; sets process.exitCode. `then` runs once the mount has settled or ended. */
export async function runMountRequest (req: MountRequest, then?: (ended: boolean) => void): Promise<void> {
  const { onReady, settled } = whenSettled(then)
  leaveCwd()
  try {
    const o = await layerOpener(req)
    process.exitCode = await serve(req, { ...o, onMounted: () => { writeOwnRecord(req.mountpoint, req.upperdir) }, onReady }) === 0 ? 0 : 1
  } catch (err) {
    process.stderr.write(`strata: ${(err as Error).message}\n`)
    process.exitCode = 1
  }
  dropOwnRecord(req.mountpoint)
  settled()
}
