// Entry point of a background mount daemon: serves one mount request that
// the starter has already checked (JSON in STRATA_MOUNT_REQUEST; the
// mountpoint is also argv[2], for ps). It loads only the union and the FUSE
// adapter (and the registry client only for lazily pulled layers), not the
// whole CLI, and those only once mounted: every container start waits for
// this process. Its stdout and stderr are already its log.
import { serve } from '../fuse/serve.js'
import { dropOwnRecord, leaveCwd, writeOwnRecord } from '../fuse/mount-daemon.js'
import type { MountRequest } from '../fuse/mount-options.js'
import { layerOpener } from './layer-opener.js'

const req = JSON.parse(process.env.STRATA_MOUNT_REQUEST ?? 'null') as MountRequest | null
delete process.env.STRATA_MOUNT_REQUEST
if (!req || req.mountpoint !== process.argv[2]) {
  process.stderr.write('strata: the mount daemon is started by strata mount, not by hand\n')
  process.exitCode = 2
} else {
  leaveCwd()
  try {
    const o = await layerOpener(req)
    process.exitCode = await serve(req, { ...o, onMounted: () => { writeOwnRecord(req.mountpoint, req.upperdir) } }) === 0 ? 0 : 1
  } catch (err) {
    process.stderr.write(`strata: ${(err as Error).message}\n`)
    process.exitCode = 1
  }
  dropOwnRecord(req.mountpoint)
}
