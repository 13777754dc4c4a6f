// The strata command line: yargs, one file per command under commands/,
// loaded lazily (command-table.ts). Handlers set process.exitCode and never
// call process.exit. A line that does not parse stops before any handler
// runs (usage-error.ts: docker's message, status 125). Also accepts the
// mount.fuse(8) helper convention, `strata SOURCE MOUNTPOINT -o OPTS`, so
// that `mount -t fuse.strata` and /etc/fstab lines work.
import '../base/held-ca-certs.js'
import { COMMANDS, VERBS, commandWords, findCommand, listedOnly } from './command-table.js'
import { UsageError, commandPathOf, dockerMessage, reportUsage } from './usage-error.js'
import { report } from './report.js'
import { version } from './package-version.js'
import { withStrictFlags } from './strict-flags.js'
import { fromFuseOverlayfs } from './fuse-overlayfs-argv.js'
import { RUN_VALUE_FLAGS } from './run-value-flags.js'

/** `strata SRC /mnt -o opts` (from mount.fuse) → `strata mount -o opts /mnt`. */
export function fromMountHelper (argv: string[]): string[] {
  const known = commandWords()
  const positional = argv.filter((a, i) => !a.startsWith('-') && argv[i - 1] !== '-o')
  if (argv.length >= 2 && !known.has(argv[0]) && !argv[0].startsWith('-') && positional.length === 2) {
    const rest = argv.slice(2)
    return ['mount', ...rest, positional[1]]
  }
  return argv
}

/** `strata rmi X` → `strata image rm X`: docker's verbs run the command that does the work. */
export function fromDockerVerb (argv: string[]): string[] {
  if (argv[0] === '--get-yargs-completions') {
    const verb = VERBS[argv[2]]
    return verb && argv.length > 3 ? [...argv.slice(0, 2), ...verb, ...argv.slice(3)] : argv
  }
  const verb = VERBS[argv[0]]
  return verb ? [...verb, ...argv.slice(1)] : argv
}

/** Options of `run` that take a value (so the image is the first other word). */
const RUN_VALUE_OPTIONS = new Set(RUN_VALUE_FLAGS)

/**
 * `strata run [opts] IMAGE CMD ARGS…` (and `exec [opts] CONTAINER CMD…`):
 * everything after the image is the command's, options included (as docker
 * has it), so mark it with "--".
 */
export function splitRunCommand (argv: string[]): string[] {
  if ((argv[0] !== 'run' && argv[0] !== 'exec') || argv.includes('--')) return argv
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]
    if (RUN_VALUE_OPTIONS.has(a)) { i++; continue }
    if (a.startsWith('-')) continue
    return [...argv.slice(0, i + 1), '--', ...argv.slice(i + 1)]
  }
  return argv
}

/**
 * A reader that went away (`strata image ls | head`) is not an error of
 * ours: stop quietly, with the status a shell shows for a death by SIGPIPE
 * (Node ignores the signal, so the write fails with EPIPE instead).
 */
function quietOnBrokenPipe (): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(141)
      throw err
    })
  }
}

export async function main (argv: string[]): Promise<void> {
  quietOnBrokenPipe()
  // An error no handler awaited (a stream's, a timer's) is still reported in one line.
  const last = (err: unknown): void => { report(err); process.exit(1) }
  process.on('uncaughtException', last)
  process.on('unhandledRejection', last)
  // The one line that must be quick (scripts and shells ask it often): no yargs, no commands.
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(version() + '\n')
    return
  }
  const args = splitRunCommand(fromDockerVerb(fromMountHelper(fromFuseOverlayfs(argv))))
  const completing = args[0] === '--get-yargs-completions'
  const words = (completing ? args.slice(2) : args).filter((a) => !a.startsWith('-'))
  const chosen = findCommand(words[0])
  const isGroup = (w: string): boolean => !!findCommand(w)?.group
  const commandPath = completing ? '' : commandPathOf(args, isGroup)
  try {
    const [{ default: yargs }, loaded] = await Promise.all([import('yargs'), chosen?.load(words[1])])
    let cli = yargs(args)
      .scriptName('strata')
      .usage('strata <command> [options]\n\nA union filesystem (overlay through FUSE) and a docker-like image tool.')
      .strict()
      .demandCommand(1, 'name a command (strata --help lists them)')
      .recommendCommands()
      // Throwing here (not setting an exit code) is what stops yargs from going on to the handler.
      .fail((msg, err) => {
        if (err) throw err
        const said = dockerMessage(msg, args, commandPath)
        throw new UsageError(said.message, said.commandPath)
      })
      .completion('__completions', false)
      // No -h for help: docker's run -h is the hostname.
      .help()
      .version(version())
      .epilogue("Run 'strata COMMAND --help' for more information on a command.")
    for (const c of COMMANDS) {
      // Only the chosen command's module is loaded; the others are listed by name.
      cli = cli.command(c === chosen && loaded ? (completing ? loaded : withStrictFlags(loaded, args, commandPath)) : listedOnly(c))
    }
    for (const [verb, target] of Object.entries(VERBS)) {
      cli = cli.command(listedOnly({ command: verb, describe: `docker's ${verb}: strata ${target.join(' ')}` }))
    }
    await cli.parseAsync()
  } catch (err) {
    if (err instanceof UsageError) reportUsage(err)
    else report(err)
  }
}

// Run from its CommonJS bundle (scripts/bundle-entries.mjs): no top-level
// await; main() reports its own failures.
void main(process.argv.slice(2))
