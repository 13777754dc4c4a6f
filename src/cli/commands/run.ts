// strata run: a command in a container — a writable layer on the image,
// mounted through strata's FUSE filesystem, chrooted in new mount, PID, UTS
// and IPC namespaces (util-linux unshare), with the image's Entrypoint, Cmd,
// Env, WorkingDir and User. The exit status is the command's; signals are
// passed on to it; on exit it is unmounted (and removed with --rm).
import type { CommandModule } from 'yargs'
import { resolveImage } from '../../image/resolve-image.js'
import { runContainer } from '../../run/run-container.js'
import { containerInit } from '../../run/container-init.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'

interface Args extends RootArgs {
  image: string
  command?: string[]
  name?: string
  rm?: boolean
  e?: string | string[]
  w?: string
  u?: string
  entrypoint?: string
  hostname?: string
  i?: boolean
  t?: boolean
}

export const runCommand: CommandModule<object, Args> = {
  command: 'run <image> [command..]',
  describe: 'Run a command in a new container of an image',
  builder: (y) => withRoot(y
    // main.ts puts "--" after the image: what follows is the command's, as is.
    .parserConfiguration({ 'populate--': true })
    .positional('image', { type: 'string', demandOption: true })
    .positional('command', { type: 'string', array: true, describe: 'command and arguments (default: the image\'s Cmd)' })
    .option('name', { type: 'string', describe: 'container name' })
    .option('rm', { type: 'boolean', describe: 'remove the container when the command exits' })
    .option('e', { alias: 'env', type: 'string', describe: 'KEY=VALUE (or KEY, from this environment); repeatable' })
    .option('w', { alias: 'workdir', type: 'string', describe: 'working directory inside the container' })
    .option('u', { alias: 'user', type: 'string', describe: 'user[:group] (names from the image)' })
    .option('entrypoint', { type: 'string', describe: 'override the image\'s Entrypoint ("" clears it)' })
    .option('hostname', { type: 'string' })
    .option('i', { alias: 'interactive', type: 'boolean', describe: 'keep stdin (it is always passed on)' })
    .option('t', { alias: 'tty', type: 'boolean', describe: 'use this terminal (it is always passed on)' })
    .example('$0 run --rm -it debian:12 /bin/sh', '')
    .example('$0 run --name job -e K=V -w /srv greeter:1', '')),
  handler: async (a) => {
    const store = openStore(a)
    const image = resolveImage(store, a.image)
    const c = await store.locked(() => store.containers.create(a.name, image.manifestDigest, image.names[0] ?? a.image))
    try {
      process.exitCode = await runContainer(store, c, image, {
        flags: {
          command: [...(a.command ?? []), ...((a as { '--'?: string[] })['--'] ?? []).map(String)], entrypoint: a.entrypoint, env: a.e === undefined ? [] : [a.e].flat(),
          workdir: a.w, user: a.u, hostname: a.hostname ?? c.id.slice(0, 12),
        },
      })
    } finally {
      if (a.rm) await store.locked(() => store.containers.remove(c))
    }
  },
}

/** Hidden: the container's first process (see run/container-init.ts). */
export const initCommand: CommandModule = {
  command: '__init',
  describe: false,
  handler: () => {
    try {
      containerInit(JSON.parse(process.env.STRATA_INIT_SPEC ?? 'null'))
    } catch (err) {
      // As shells and docker do: 127 for a command not found, 126 for one that cannot run.
      const code = (err as { code?: string }).code
      process.stderr.write(`strata: ${(err as Error).message}\n`)
      process.exitCode = code === 'ENOENT' ? 127 : code === 'EACCES' || code === 'ENOEXEC' ? 126 : 125
    }
  },
}
