// A mount line bin/strata takes without the CLI: fuse-overlayfs's `strata -o
// … MNT` (podman's mount_program) and `strata mount --lowerdir … MNT`, run
// in this process, which then serves the mount. Run by a daemon bin/strata
// starts (mount-line-main.ts) or by a spare that was handed the line
// (spare-main.ts). It parses and checks the line, mounts, writes its mount
// record, moves its output to its log, and tells its starter on fd
// STRATA_READY_FD before it builds the union (fuse/serve.ts). Until it is
// mounted its stderr is the caller's, so a bad line fails there, with the
// CLI's message, before anything is mounted. The readiness line:
//   ok PID      mounted; the caller exits 0
//   cli         not a line taken here (-f, --debug, a store name, --help …): the caller runs the full CLI
//   (nothing)   failed, already said on stderr: the caller exits 1
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
import { whenSettled } from './start-spare.js'

function giveUp (): void {
  const fd = Number(process.env.STRATA_READY_FD)
  delete process.env.STRATA_READY_FD
  if (Number.isInteger(fd) && fd >= 0) {
    fs.writeSync(fd, 'cli\n')
    fs.closeSync(fd)
  }
}

function lineArgs (argv: string[]): MountArgs | null {
  const line = parseFuseOverlayfsArgv(argv)
  if (line) return line.foreground || line.debug ? null : { mountpoint: line.mountpoint, options: line.options }
  return parseRawMountArgv(argv)
}

/**
 * Mounts and serves `argv` (bin/strata's, without the program) if it is a
 * mount line; sets process.exitCode. `then` runs once, when the mount has
 * settled or ended (or the line failed): start-spare.ts.
 */
export async function runMountLine (argv: string[], then?: (ended: boolean) => void): Promise<void> {
  const { onReady, settled } = whenSettled(then)
  const args = lineArgs(argv)
  if (!args) {
    giveUp()
    settled()
    return
  }
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
      process.exitCode = await serve(req, { ...o, onMounted, onReady }) === 0 ? 0 : 1
    } finally {
      dropOwnRecord(req.mountpoint)
    }
  } catch (err) {
    // Said as `strata mount` says a daemon's failure (errnoErrorOf of its
    // readiness line: "EIO: cannot mount …"); after the mount it goes to the log.
    report(typeof (err as { code?: unknown }).code === 'string' ? errnoErrorOf((err as Error).message) : err)
  }
  settled()
}
