// The entry bin/strata takes for `strata umount [-l|--lazy] MOUNTPOINT`
// (and `unmount`) when no spare daemon took it (spare-main.ts): every
// container stop waits for it, so no yargs and no command table. Any other
// line (--help, a typo'd flag) goes on to the full CLI, which parses
// process.argv itself and says what is wrong.
import { report } from './report.js'
import { parseUmountArgv } from './umount-line.js'

const line = parseUmountArgv(process.argv.slice(2))
if (!line) {
  await import('./main.js')
} else {
  try {
    const { unmount } = await import('../fuse/mount-daemon.js')
    await unmount(line.mountpoint, line.lazy)
  } catch (err) {
    report(err)
  }
}
