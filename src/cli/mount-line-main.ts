// The daemon bin/strata starts itself, with the raw argv, for a mount line
// it can take without the CLI: fuse-overlayfs's `strata -o … MNT` (podman's
// mount_program) and `strata mount --lowerdir … MNT`. Only one Node process
// is then on the caller's path: this one parses and checks the line, mounts,
// writes its mount record, moves its output to its log, and tells bin/strata
// on fd 3 (STRATA_READY_FD) before it builds the union (fuse/serve.ts).
// Until it is mounted its stderr is the caller's, so a bad line fails there,
// with the CLI's message, before anything is mounted. The readiness line:
//   ok PID      mounted; bin/strata exits 0
//   cli         not a line taken here (-f, --debug, a store name, --help …): bin/strata runs the full CLI
//   (nothing)   failed, already said on stderr: bin/strata exits 1
import fs from 'node:fs'
import { parseFuseOverlayfsArgv } from './fuse-overlayfs-argv.js'
import { parseRawMountArgv } from './raw-mount-argv.js'
import { report } from './report.js'
import { errnoErrorOf } from '../base/errno-error.js'
import { parseMountArgs, type MountArgs } from '../fuse/mount-options.js'
// Static, so that the loader fetches the whole (small) graph at once: a line
// not taken here is rare (bin/strata sends -f and store names elsewhere).
import { refuseMountedUpper, writeOwnRecord, detachStdio, dropOwnRecord, leaveCwd } from '../fuse/mount-daemon.js'
import { layerOpener } from './layer-opener.js'
import { serve } from '../fuse/serve.js'

function giveUp (): void {
  const fd = Number(process.env.STRATA_READY_FD)
  delete process.env.STRATA_READY_FD
  if (Number.isInteger(fd) && fd >= 0) fs.writeSync(fd, 'cli\n')
}

function lineArgs (argv: string[]): MountArgs | null {
  const line = parseFuseOverlayfsArgv(argv)
  if (line) return line.foreground || line.debug ? null : { mountpoint: line.mountpoint, options: line.options }
  return parseRawMountArgv(argv)
}

const argv = process.argv.slice(2)
const args = lineArgs(argv)
if (!args) {
  giveUp()
} else {
  try {
    const req = parseMountArgs(args)
    leaveCwd()
    // As `strata mount` refuses it (fuse-overlayfs's line does not check).
    if (argv[0] === 'mount') refuseMountedUpper(req.upperdir)
    const o = await layerOpener(req)
    const onMounted = (): void => {
      writeOwnRecord(req.mountpoint, req.upperdir)
      detachStdio(req.mountpoint)
    }
    try {
      process.exitCode = await serve(req, { ...o, onMounted }) === 0 ? 0 : 1
    } finally {
      dropOwnRecord(req.mountpoint)
    }
  } catch (err) {
    // Said as `strata mount` says a daemon's failure (errnoErrorOf of its
    // readiness line: "EIO: cannot mount …"); after the mount it goes to the log.
    report(typeof (err as { code?: unknown }).code === 'string' ? errnoErrorOf((err as Error).message) : err)
  }
}
