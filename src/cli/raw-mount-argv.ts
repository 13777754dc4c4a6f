// The simplest spelling of `strata mount` with raw layers, read without
// yargs so that bin/strata's daemon can take it directly:
//   mount [--lowerdir A:B | --lowerdir=A:B] [--upperdir U] [--workdir W] [-o OPTS | -oOPTS]… MOUNTPOINT
// Anything else (a store name, -f, --help, a flag given twice, an unknown
// flag) is not taken here: null, and the full CLI parses the line, with its
// messages.
import type { MountArgs } from '../fuse/mount-options.js'

const VALUE_FLAGS = new Set(['lowerdir', 'upperdir', 'workdir'])

export function parseRawMountArgv (argv: string[]): MountArgs | null {
  if (argv[0] !== 'mount') return null
  const flags: Record<string, string> = {}
  const options: string[] = []
  const positional: string[] = []
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]
    if (a === '-o') {
      if (i + 1 >= argv.length) return null
      options.push(argv[++i])
    } else if (a.startsWith('-o') && !a.startsWith('-o=')) options.push(a.slice(2))
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq)
      if (!VALUE_FLAGS.has(name) || name in flags) return null
      if (eq >= 0) flags[name] = a.slice(eq + 1)
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('-')) flags[name] = argv[++i]
      else return null
    } else if (a.startsWith('-')) return null
    else positional.push(a)
  }
  if (positional.length !== 1 || (flags.lowerdir === undefined && !options.some((o) => /(^|,)lowerdir=/.test(o)))) return null
  return { mountpoint: positional[0], lowerdir: flags.lowerdir, upperdir: flags.upperdir, workdir: flags.workdir, options }
}
