// Unknown flags are found first, as docker's flag parser finds them: yargs
// counts positionals before it looks for unknown options, and an unknown
// `--bogus NAME` swallows NAME as its value, so `strata image rm --bogus x`
// would say "requires at least 1 argument" about a line whose real fault is
// the flag. Each command's builder is wrapped: once the command that will
// run has declared its options (it declares no subcommands), every flag on
// the line before "--" must be one of them. A command that turned
// strictness off (bench passes its arguments on) is left alone.
import type { Argv, CommandModule } from 'yargs'
import { UsageError } from './usage-error.js'

interface Declared { key: Record<string, unknown>, alias: Record<string, string[]>, string?: string[], number?: string[] }

/** The flags of `argv` none of `declared` names, as typed. */
export function unknownFlags (argv: string[], declared: Declared): string[] {
  const known = new Set(['help', 'version', ...Object.keys(declared.key), ...Object.entries(declared.alias).flatMap(([k, v]) => [k, ...v])])
  const takesValue = new Set([...(declared.string ?? []), ...(declared.number ?? [])])
  for (const k of [...takesValue]) for (const al of declared.alias[k] ?? []) takesValue.add(al)
  const out: string[] = []
  for (const a of argv) {
    if (a === '--') break
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) continue
    if (a.startsWith('--')) {
      const name = a.slice(2).split('=')[0]
      if (!known.has(name) && !(name.startsWith('no-') && known.has(name.slice(3)))) out.push(`--${name}`)
    } else {
      // -abc is -a -b -c; -ofoo is -o foo: stop at the first letter that takes a value.
      for (const c of a.slice(1).split('=')[0]) {
        if (!known.has(c)) { out.push(`-${c}`); break }
        if (takesValue.has(c)) break
      }
    }
  }
  return out
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- yargs' CommandModule is invariant in its argument types: only any fits every command
export function withStrictFlags<T extends CommandModule<any, any>> (mod: T, argv: string[], commandPath: string): T {
  const builder = mod.builder
  return {
    ...mod,
    builder: (y: Argv) => {
      let subcommands = 0
      const command = y.command.bind(y) as (...args: unknown[]) => Argv
      // Subcommands registered by a group's builder are wrapped in turn.
      ;(y as unknown as { command: (...args: unknown[]) => Argv }).command = (m: unknown, ...rest: unknown[]) => {
        subcommands++
        return command(typeof m === 'object' && m !== null ? withStrictFlags(m as CommandModule, argv, commandPath) : m, ...rest)
      }
      const out = (typeof builder === 'function' ? builder(y) : builder ? y.options(builder) : y) ?? y
      ;(y as unknown as { command: unknown }).command = command
      const inner = out as unknown as { getStrict: () => boolean, getOptions: () => Declared }
      if (subcommands === 0 && inner.getStrict()) {
        const unknown = unknownFlags(argv, inner.getOptions())
        if (unknown.length) throw new UsageError(`unknown flag: ${unknown[0]}`, commandPath)
      }
      return out
    },
  }
}
