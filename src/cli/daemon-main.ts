// Entry point of a background mount daemon: serves one mount request that
// the starter has already checked (JSON in STRATA_MOUNT_REQUEST; the
// mountpoint is also argv[2], for ps), as mount-request.ts says. It loads
// only the union and the FUSE adapter (and the registry client only for
// lazily pulled layers), not the whole CLI: every container start that no
// spare took waits for this process. Once its mount has settled it boots a
// spare for the next one (start-spare.ts). Run from its CommonJS bundle
// (scripts/bundle-entries.mjs): no top-level await.
// First: the starter may have held NODE_EXTRA_CA_CERTS aside (mount-in-background.ts).
import '../base/held-ca-certs.js'
import type { MountRequest } from '../fuse/mount-options.js'
import { runMountRequest } from './mount-request.js'
import { startSpare } from './start-spare.js'

const req = JSON.parse(process.env.STRATA_MOUNT_REQUEST ?? 'null') as MountRequest | null
delete process.env.STRATA_MOUNT_REQUEST
if (!req || req.mountpoint !== process.argv[2]) {
  process.stderr.write('strata: the mount daemon is started by strata mount, not by hand\n')
  process.exitCode = 2
} else {
  void runMountRequest(req, startSpare)
}
