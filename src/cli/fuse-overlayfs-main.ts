// The entry bin/strata takes for a line that starts like fuse-overlayfs's
// (`strata -o … MNT`, podman's mount_program) when it is not handed to the
// daemon directly (cli/mount-line-main.ts): in the foreground (-f, -d), or a
// line that daemon declined. The mount without loading the whole CLI; any
// other line goes on to the strata CLI (main.js parses process.argv itself).
import { parseFuseOverlayfsArgv } from './fuse-overlayfs-argv.js'

const line = parseFuseOverlayfsArgv(process.argv.slice(2))
if (!line) {
  await import('./main.js')
} else {
  const { parseMountArgs } = await import('../fuse/mount-options.js')
  const { mountOrServe } = await import('../fuse/mount-or-serve.js')
  const { report } = await import('./report.js')
  const { layerOpener } = await import('./layer-opener.js')
  try {
    const req = parseMountArgs({ mountpoint: line.mountpoint, options: line.options, debug: line.debug })
    process.exitCode = await mountOrServe(req, line.foreground || line.debug, await layerOpener(req))
  } catch (err) {
    report(err)
  }
}
