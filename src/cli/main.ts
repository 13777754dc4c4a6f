// The strata command line: yargs, one file per command under commands/.
// Handlers set process.exitCode and never call process.exit. Also accepts
// the mount.fuse(8) helper convention, `strata SOURCE MOUNTPOINT -o OPTS`,
// so that `mount -t fuse.strata` and /etc/fstab lines work.
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { mountCommand } from './commands/mount.js'
import { umountCommand } from './commands/umount.js'
import { benchCommand } from './commands/bench.js'
import { imageCommand } from './commands/image.js'
import { containerCommand, lsCommand } from './commands/container.js'
import { execCommand } from './commands/exec.js'
import { killCommand, logsCommand, restartCommand, startCommand, stopCommand, waitCommand } from './commands/lifecycle.js'
import { commitCommand } from './commands/commit.js'
import { diffCommand } from './commands/diff.js'
import { systemCommand } from './commands/system.js'
import { runCommand, initCommand, superviseCommand, RUN_VALUE_FLAGS } from './commands/run.js'
import { imagePullCommand } from './commands/image-pull.js'
import { imagePushCommand } from './commands/image-push.js'
import { loginCommand, logoutCommand } from './commands/login.js'
import { imageBuildCommand } from './commands/image-build.js'
import { report } from './report.js'

const commands = [mountCommand, umountCommand, imageCommand, containerCommand, commitCommand, diffCommand, runCommand, imageBuildCommand, imagePullCommand, imagePushCommand, loginCommand, logoutCommand, systemCommand, benchCommand, initCommand, superviseCommand,
  // docker's top-level container verbs (ps is container ls)
  { ...lsCommand, command: 'ps', aliases: [] }, execCommand, stopCommand, killCommand, startCommand, restartCommand, waitCommand, logsCommand]

/** `strata SRC /mnt -o opts` (from mount.fuse) → `strata mount -o opts /mnt`. */
export function fromMountHelper (argv: string[]): string[] {
  const known = new Set(commands.flatMap((c) => [String(c.command).split(' ')[0], ...[c.aliases ?? []].flat()]))
  const positional = argv.filter((a, i) => !a.startsWith('-') && argv[i - 1] !== '-o')
  if (argv.length >= 2 && !known.has(argv[0]) && !argv[0].startsWith('-') && positional.length === 2) {
    const rest = argv.slice(2)
    return ['mount', ...rest, positional[1]]
  }
  return argv
}

/** Options of `run` that take a value (so the image is the first other word). */
const RUN_VALUE_OPTIONS = new Set(RUN_VALUE_FLAGS)

/**
 * `strata run [opts] IMAGE CMD ARGS…` (and `exec [opts] CONTAINER CMD…`): everything after the image is the
 * command's, options included (as docker has it), so mark it with "--".
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

export async function main (argv: string[]): Promise<void> {
  let cli = yargs(splitRunCommand(fromMountHelper(argv)))
    .scriptName('strata')
    .strict()
    .demandCommand(1, 'name a command (strata --help lists them)')
    .recommendCommands()
    .fail((msg, err) => {
      if (err) throw err
      process.stderr.write(`strata: ${msg}\n`)
      process.exitCode = 2
    })
    .help()
    .version()
  for (const c of commands) cli = cli.command(c as any)
  try {
    await cli.parseAsync()
  } catch (err) {
    report(err)
  }
}

await main(hideBin(process.argv))
