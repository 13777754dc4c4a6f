// The entry bin/strata takes for `strata umount [-l|--lazy] MOUNTPOINT`
// (and `unmount`) when no spare daemon took it (spare-main.ts): every
// container stop waits for it, so no yargs and no command table, and it runs
// from its CommonJS bundle (scripts/bundle-entries.mjs: no top-level await).
// Any other line (--help, a typo'd flag) goes on to the full CLI, which
// parses process.argv itself and says what is wrong. Started without
// NODE_EXTRA_CA_CERTS (bin/strata's hold_ca), put back first.
import '../base/held-ca-certs.js'
import { report } from './report.js'
import { parseUmountArgv } from './umount-line.js'

const line = parseUmountArgv(process.argv.slice(2))
if (!line) {
  void import('./main.js')
} else {
  // Not loaded for the full CLI's lines, which load it (and the addon) themselves.
  import('../fuse/mount-daemon.js').then(({ unmount }) => unmount(line.mountpoint, line.lazy)).catch(report)
}
