// strata run: a command in a new container of an image — a writable layer
// on the image, mounted through strata's FUSE filesystem, isolated as
// docker's defaults isolate (see run/container-init.ts), with the image's
// Entrypoint, Cmd, Env, WorkingDir and User. In the foreground the exit
// status is the command's and signals are passed on; with -d a supervisor
// owns it and the container's ID is printed. Errors of strata itself exit
// 125, as docker's do (126/127: the command cannot run / is not found).
import type { Argv, CommandModule } from 'yargs'
import { resolveImage, loadImage } from '../../image/resolve-image.js'
import { runOwned } from '../../run/run-owned.js'
import { startSupervisor } from '../../run/container-control.js'
import { containerInit } from '../../run/container-init.js'
import { isolation, type RunFlags, type RunSpec } from '../../run/run-spec.js'
import { updateState, processStart } from '../../run/container-state.js'
import { errnoError } from '../../base/errno-error.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { report } from '../report.js'
import { PULL_POLICIES, pullForRun, type PullPolicy } from '../run-pull.js'

interface Args extends RunArgs {
  image: string
  command?: string[]
  rm?: boolean
  d?: boolean
  pull: PullPolicy
}

export interface RunArgs extends RootArgs {
  name?: string
  e?: string | string[]
  w?: string
  u?: string
  entrypoint?: string
  hostname?: string
  i?: boolean
  t?: boolean
  'cap-add'?: string | string[]
  'cap-drop'?: string | string[]
  privileged?: boolean
  'security-opt'?: string | string[]
  network?: string
  v?: string | string[]
  mount?: string | string[]
  tmpfs?: string | string[]
  'read-only'?: boolean
  memory?: string
  'pids-limit'?: number
  cpus?: number
  p?: string | string[]
}

/** The options of run that take a value (main.ts: the image is the first other word). */
export { RUN_VALUE_FLAGS } from '../run-value-flags.js'

export function runOptions<T> (y: Argv<T>): Argv<T> {
  return y
    .option('name', { type: 'string', describe: 'container name' })
    .option('e', { alias: 'env', type: 'string', describe: 'KEY=VALUE (or KEY, from this environment); repeatable' })
    .option('w', { alias: 'workdir', type: 'string', describe: 'working directory inside the container' })
    .option('u', { alias: 'user', type: 'string', describe: 'user[:group] (names from the image)' })
    .option('entrypoint', { type: 'string', describe: 'override the image\'s Entrypoint ("" clears it)' })
    .option('hostname', { type: 'string' })
    .option('i', { alias: 'interactive', type: 'boolean', describe: 'keep stdin (it is always passed on in the foreground)' })
    .option('t', { alias: 'tty', type: 'boolean', describe: 'use this terminal' })
    .option('cap-add', { type: 'string', describe: 'add a capability (NET_ADMIN, ALL, …)' })
    .option('cap-drop', { type: 'string', describe: 'drop a capability' })
    .option('privileged', { type: 'boolean', describe: 'every capability, no seccomp, no masked paths, /sys writable' })
    .option('security-opt', { type: 'string', describe: 'seccomp=unconfined|FILE (docker\'s JSON), no-new-privileges' })
    .option('network', { alias: 'net', type: 'string', describe: 'none (default: own namespace, lo only) or host' })
    .option('v', { alias: 'volume', type: 'string', describe: 'HOST:CONTAINER[:ro] bind mount' })
    .option('mount', { type: 'string', describe: 'type=bind,source=…,target=…[,readonly] or type=tmpfs,target=…' })
    .option('tmpfs', { type: 'string', describe: '/path[:options] tmpfs mount' })
    .option('read-only', { type: 'boolean', describe: 'mount the container\'s root read-only' })
    .option('m', { alias: 'memory', type: 'string', describe: 'memory limit (512m, 1g)' })
    .option('pids-limit', { type: 'number', describe: 'most processes at once' })
    .option('cpus', { type: 'number', describe: 'CPU share (1.5 = one and a half CPUs)' })
    .option('p', { alias: 'publish', type: 'string', describe: 'not supported: there is no bridge network (use --network host)' })
}

// Repeatable options are plain strings (an array option would swallow the
// image name that follows it); yargs gives an array when one is repeated.
const list = (v: string | string[] | undefined): string[] | undefined => v === undefined ? undefined : [v].flat()

/** The RunFlags of a parsed command line. */
export function runFlags (a: RunArgs, command: string[], hostname: string): RunFlags {
  if (list(a.p)?.length) throw errnoError('EINVAL', '-p/--publish: strata sets up no bridge network to publish from; use --network host, where the container\'s ports are the host\'s')
  const flags: RunFlags = {
    command,
    entrypoint: a.entrypoint,
    env: list(a.e) ?? [],
    workdir: a.w,
    user: a.u,
    hostname,
    capAdd: list(a['cap-add']),
    capDrop: list(a['cap-drop']),
    privileged: a.privileged,
    securityOpt: list(a['security-opt']),
    network: a.network,
    volumes: list(a.v),
    mounts: list(a.mount),
    tmpfs: list(a.tmpfs),
    readOnly: a['read-only'],
    memory: a.memory,
    pidsLimit: a['pids-limit'],
    cpus: a.cpus,
    tty: a.t,
  }
  isolation(flags) // every isolation flag is checked before anything is created
  return flags
}

export const runCommand: CommandModule<object, Args> = {
  command: 'run <image> [command..]',
  describe: 'Run a command in a new container of an image',
  builder: (y) => runOptions(withRoot(y
    // main.ts puts "--" after the image: what follows is the command's, as is.
    .parserConfiguration({ 'populate--': true })
    .positional('image', { type: 'string', demandOption: true })
    .positional('command', { type: 'string', describe: 'command and arguments (default: the image\'s Cmd)' })
    .option('rm', { type: 'boolean', describe: 'remove the container when the command exits' })
    .option('d', { alias: 'detach', type: 'boolean', describe: 'run in the background and print the container ID' })
    .option('pull', { type: 'string', choices: PULL_POLICIES, default: 'missing', describe: 'pull the image: always, missing (from the store), never, or lazy (missing: pulled lazily, eStargz layers fetched as read)' })
    .example('$0 run --rm -it debian:12 /bin/sh', '')
    .example('$0 run -d --name web -v /srv:/srv:ro greeter:1', '')
    .example('$0 run --rm --network host --cap-drop ALL busybox:1 id', '')
    .example('$0 run --rm --pull=lazy localhost:5000/app:1', 'start before the image is downloaded'))) as Argv<Args>,
  handler: async (a) => {
    try {
      const store = openStore(a)
      const command = [...(a.command ?? []), ...((a as { '--'?: string[] })['--'] ?? []).map(String)]
      const probe = runFlags(a, command, '')
      await pullForRun(store, a.image, a.pull)
      // Resolved and the container created under the store lock, so the
      // image cannot go between the two (the container pins it from then on).
      const { c, image, flags } = await store.locked(() => {
        const image = resolveImage(store, a.image)
        const c = store.containers.create(a.name, image.manifestDigest, image.names[0] ?? a.image)
        const flags = { ...probe, hostname: a.hostname ?? c.id.slice(0, 12) }
        // Owned by this client until it runs (or hands it to a supervisor): a
        // --rm container whose client dies before it starts goes too.
        updateState(store, c, { status: 'created', flags, autoRemove: a.rm, ownerPid: process.pid, ownerStart: processStart(process.pid) ?? undefined })
        return { c, image, flags }
      })
      if (a.d) {
        const s = await startSupervisor(store, c)
        if (s.status === 'exited' && s.error) throw errnoError('EIO', s.error)
        process.stdout.write(c.id + '\n')
        return
      }
      // With -t the container's pty does the line discipline: this terminal passes keys through raw.
      const raw = !!a.t && process.stdin.isTTY
      if (raw) process.stdin.setRawMode(true)
      try {
        process.exitCode = await runOwned(store, c, loadImage(store, image.manifestDigest), { flags, autoRemove: a.rm })
      } finally {
        if (raw) process.stdin.setRawMode(false)
      }
    } catch (err) {
      report(err)
      process.exitCode = 125
    }
  },
}

/** Hidden: the owner of a detached container (run -d, start). */
export const superviseCommand: CommandModule<object, RootArgs & { id: string }> = {
  command: '__supervise <id>',
  describe: false,
  builder: (y) => withRoot(y.positional('id', { type: 'string', demandOption: true })),
  handler: async (a) => {
    const store = openStore(a)
    const c = store.containers.get(a.id)
    const { readState } = await import('../../run/container-state.js')
    const s = readState(store, c)
    try {
      await runOwned(store, c, loadImage(store, c.manifest), { flags: s.flags ?? { hostname: c.id.slice(0, 12) }, autoRemove: s.autoRemove, stdin: 'ignore', log: true })
    } catch (err) {
      report(err)
    }
  },
}

/** Hidden: the container's first process (see run/container-init.ts). */
export const initCommand: CommandModule = {
  command: '__init',
  describe: false,
  handler: () => {
    try {
      containerInit(JSON.parse(process.env.STRATA_INIT_SPEC ?? 'null') as RunSpec)
    } catch (err) {
      // As shells and docker do: 127 for a command not found, 126 for one that cannot run.
      const code = (err as { code?: string }).code
      process.stderr.write(`strata: ${(err as Error).message}\n`)
      process.exitCode = code === 'ENOENT' ? 127 : code === 'EACCES' || code === 'ENOEXEC' ? 126 : 125
    }
  },
}
