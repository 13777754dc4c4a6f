// Every top-level command, by name, with what yargs needs to list it and a
// loader for the module that runs it. Only the command a line names is
// loaded (start-up is part of the product: `strata mount` must not pay for
// parsing the registry client). docker's top-level verbs are rewrites onto
// the command that does the work, so they behave as it does, flags and all.
// Invariant: `describe` here is the only copy a listing shows; keep it short.
import type { CommandModule } from 'yargs'

export interface CommandEntry {
  /** yargs's command string: the name, then its positionals. */
  command: string
  aliases?: string[]
  describe: string | false
  /** Has subcommands: the next word names one (for "See 'strata image rm --help'"). */
  group?: boolean
  /** The command's module; a group's, with the subcommand `sub` loaded where it loads lazily. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- yargs' CommandModule is invariant in its argument types: only any fits every command
  load: (sub?: string) => Promise<CommandModule<any, any>>
}

export const COMMANDS: CommandEntry[] = [
  { command: 'image <command>', describe: 'Manage images', group: true, load: async (sub) => (await import('./commands/image.js')).imageCommandFor(sub) },
  { command: 'container <command>', describe: 'Manage containers (writable layers on images)', group: true, load: async () => (await import('./commands/container.js')).containerCommand },
  { command: 'system <command>', describe: 'Store maintenance: check, df, prune', group: true, load: async () => (await import('./commands/system.js')).systemCommand },
  { command: 'run <image> [command..]', describe: 'Run a command in a new container of an image', load: async () => (await import('./commands/run.js')).runCommand },
  { command: 'mount <what> [mountpoint]', describe: 'Mount a container, an image or raw layers as one directory through FUSE', load: async () => (await import('./commands/mount.js')).mountCommand },
  { command: 'umount <mountpoint>', aliases: ['unmount'], describe: 'Unmount a strata mount and wait for its daemon to finish', load: async () => (await import('./commands/umount.js')).umountCommand },
  { command: 'build <context>', describe: 'Build an image from a Dockerfile', load: async () => (await import('./commands/image-build.js')).imageBuildCommand },
  { command: 'pull <image>', describe: 'Download an image from a registry', load: async () => (await import('./commands/image-pull.js')).imagePullCommand },
  { command: 'push <image>', describe: 'Upload an image to a registry', load: async () => (await import('./commands/image-push.js')).imagePushCommand },
  { command: 'commit <container> [name]', describe: "Create a new image from a container's changes", load: async () => (await import('./commands/commit.js')).commitCommand },
  { command: 'diff <container>', describe: "Show a container's changes against its image", load: async () => (await import('./commands/diff.js')).diffCommand },
  { command: 'inspect <name..>', describe: 'Show images or containers in detail, as JSON', load: async () => (await import('./commands/inspect.js')).inspectCommand },
  { command: 'login <server>', describe: 'Log in to a registry', load: async () => (await import('./commands/login.js')).loginCommand },
  { command: 'logout [server]', describe: 'Forget the credentials saved for a registry', load: async () => (await import('./commands/login.js')).logoutCommand },
  { command: 'version', describe: 'Show the version of strata and of what it runs on', load: async () => (await import('./commands/version.js')).versionCommand },
  { command: 'info', describe: 'Show the store and the system strata runs on', load: async () => (await import('./commands/info.js')).infoCommand },
  { command: 'completion [shell]', describe: 'Print a shell completion script (bash or zsh)', load: async () => (await import('./commands/completion.js')).completionCommand },
  { command: 'bench', describe: 'Benchmark strata against kernel overlayfs and fuse-overlayfs', load: async () => (await import('./commands/bench.js')).benchCommand },
  { command: 'exec <container> [command..]', describe: 'Run a command in a running container', load: async () => (await import('./commands/exec.js')).execCommand },
  { command: 'stop <container..>', describe: 'Stop running containers (SIGTERM, then SIGKILL after -t seconds)', load: async () => (await import('./commands/lifecycle.js')).stopCommand },
  { command: 'kill <container..>', describe: 'Send a signal to running containers', load: async () => (await import('./commands/lifecycle.js')).killCommand },
  { command: 'start <container..>', describe: 'Start stopped containers', load: async () => (await import('./commands/lifecycle.js')).startCommand },
  { command: 'restart <container..>', describe: 'Restart containers', load: async () => (await import('./commands/lifecycle.js')).restartCommand },
  { command: 'wait <container..>', describe: 'Wait for containers to stop, then print their exit codes', load: async () => (await import('./commands/lifecycle.js')).waitCommand },
  { command: 'logs <container>', describe: "Show a detached container's output", load: async () => (await import('./commands/lifecycle.js')).logsCommand },
  { command: '__init', describe: false, load: async () => (await import('./commands/run.js')).initCommand },
  { command: '__supervise <id>', describe: false, load: async () => (await import('./commands/run.js')).superviseCommand },
]

/** docker's top-level verbs → the strata command that does the work. */
export const VERBS: Record<string, string[]> = {
  images: ['image', 'ls'],
  rmi: ['image', 'rm'],
  tag: ['image', 'tag'],
  history: ['image', 'history'],
  import: ['image', 'import'],
  save: ['image', 'save'],
  load: ['image', 'load'],
  ps: ['container', 'ls'],
  rm: ['container', 'rm'],
  create: ['container', 'create'],
}

/**
 * What yargs gets for a command that was not loaded: its name and
 * description, for listings and suggestions. Its handler cannot run unless
 * main.ts chose the wrong module, which is a bug to say, not a silent success.
 */
export function listedOnly (c: { command: string, aliases?: string[], describe: string | false }): CommandModule {
  return {
    command: c.command,
    aliases: c.aliases,
    describe: c.describe,
    builder: (y) => y,
    handler: () => { throw new Error(`the module of "${c.command}" was not loaded`) },
  }
}

export const nameOf = (e: CommandEntry): string => e.command.split(' ')[0]

/** Every word that names a top-level command (names, aliases, verbs). */
export function commandWords (): Set<string> {
  return new Set([...COMMANDS.flatMap((c) => [nameOf(c), ...(c.aliases ?? [])]), ...Object.keys(VERBS)])
}

export function findCommand (word: string | undefined): CommandEntry | undefined {
  return word === undefined ? undefined : COMMANDS.find((c) => nameOf(c) === word || c.aliases?.includes(word))
}
