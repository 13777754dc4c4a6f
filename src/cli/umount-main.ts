// The entry bin/strata takes for `strata umount [-l|--lazy] MOUNTPOINT`
// (and `unmount`): every container stop waits for it, so no yargs and no
// command table. Any other line (--help, a typo'd flag) goes on to the full
// CLI, which parses process.argv itself and says what is wrong.
import { report } from './report.js'

function parse (argv: string[]): { mountpoint: string, lazy: boolean } | null {
  if (argv[0] !== 'umount' && argv[0] !== 'unmount') return null
  let lazy = false
  const positional: string[] = []
  for (const a of argv.slice(1)) {
    if (a === '-l' || a === '--lazy') lazy = true
    else if (a.startsWith('-')) return null
    else positional.push(a)
  }
  return positional.length === 1 ? { mountpoint: positional[0], lazy } : null
}

const line = parse(process.argv.slice(2))
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
