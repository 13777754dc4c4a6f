// strata run: a command in a container — a writable layer on the image,
// mounted through strata's FUSE filesystem, chrooted in new mount, PID, UTS
// and IPC namespaces (util-linux unshare), with the image's Entrypoint, Cmd,
// Env, WorkingDir and User. The exit status is the command's; signals are
// passed on to it; on exit it is unmounted (and removed with --rm).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import type { CommandModule } from 'yargs'
import { resolveImage } from '../../image/resolve-image.js'
import { storeLayers } from '../../image/store-layers.js'
import { parseMountArgs } from '../../fuse/mount-options.js'
import { unmount } from '../../fuse/mount-daemon.js'
import { runSpec } from '../../run/run-spec.js'
import { containerInit } from '../../run/container-init.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { mountInBackground, cliMain } from '../mount-in-background.js'

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

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']

/** The container's PID 1: the child of unshare. */
function initPid (unsharePid: number): number | null {
  try {
    const kids = fs.readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
    return kids.length ? Number(kids[0]) : null
  } catch {
    return null
  }
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
    const mnt = path.join(process.env.STRATA_RUN_DIR ?? '/run/strata', 'run', c.id)
    fs.mkdirSync(mnt, { recursive: true })
    let mounted = false
    try {
      await mountInBackground(parseMountArgs({ mountpoint: mnt, ...storeLayers(store, c.id), options: [] }))
      mounted = true
      const spec = runSpec(mnt, image.config.config, {
        command: [...(a.command ?? []), ...((a as { '--'?: string[] })['--'] ?? []).map(String)], entrypoint: a.entrypoint, env: a.e === undefined ? [] : [a.e].flat(),
        workdir: a.w, user: a.u, hostname: a.hostname ?? c.id.slice(0, 12),
      })
      const child = spawn('unshare', ['--mount', '--pid', '--uts', '--ipc', '--fork', '--kill-child', '--', process.execPath, cliMain, '__init'], {
        stdio: 'inherit',
        env: { ...process.env, STRATA_INIT_SPEC: JSON.stringify(spec) },
      })
      const forward = (sig: NodeJS.Signals): void => {
        const pid = child.pid ? initPid(child.pid) : null
        try { process.kill(pid ?? child.pid!, sig) } catch { /* already gone */ }
      }
      for (const s of FORWARDED) process.on(s, forward)
      const status = await new Promise<number>((resolve) => {
        child.on('exit', (code, sig) => resolve(code ?? 128 + (sig ? os.constants.signals[sig] : 1)))
        child.on('error', (err) => { process.stderr.write(`strata: cannot start unshare: ${err.message}\n`); resolve(127) })
      })
      for (const s of FORWARDED) process.off(s, forward)
      process.exitCode = status
    } finally {
      if (mounted) await unmount(mnt).catch((err) => process.stderr.write(`strata: ${(err as Error).message}\n`))
      try { fs.rmdirSync(mnt) } catch { /* still mounted or gone: said above */ }
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
