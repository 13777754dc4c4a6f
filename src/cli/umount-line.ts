// `strata umount [-l|--lazy] MOUNTPOINT` (and `unmount`) as the light entry
// points take it (umount-main.ts, a spare: spare-main.ts); any other line is
// the full CLI's to parse and explain.
export interface UmountLine { mountpoint: string, lazy: boolean }

export function parseUmountArgv (argv: string[]): UmountLine | null {
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
