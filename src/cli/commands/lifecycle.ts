// docker's lifecycle verbs for containers: stop, kill, start, restart,
// wait, logs. Each takes container names or IDs and acts through
// run/container-control.ts; a container that is not in the state a verb
// needs is an error naming it, and the other names are still acted on.
import fs from 'node:fs'
import type { Argv, CommandModule } from 'yargs'
import { errnoError } from '../../base/errno-error.js'
import { loadImage } from '../../image/resolve-image.js'
import { killContainer, signalNumber, startSupervisor, stopContainer, waitExited } from '../../run/container-control.js'
import { reconcile } from '../../run/container-reconcile.js'
import { logPath } from '../../run/container-state.js'
import { runOwned } from '../../run/run-owned.js'
import type { Store } from '../../store/store.js'
import type { ContainerRecord } from '../../store/container-store.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { report } from '../report.js'

interface Many extends RootArgs { container: string[] }

/** Runs `fn` for each named container; failures are reported and make the exit status 1. */
async function each (a: Many, fn: (store: Store, c: ContainerRecord) => Promise<void>): Promise<void> {
  const store = openStore(a)
  for (const name of a.container) {
    try {
      await fn(store, store.containers.get(name))
    } catch (err) {
      report(err)
    }
  }
}

const many = <T>(y: Argv<T>): Argv<T & Many> => withRoot(y.positional('container', { type: 'string', array: true, demandOption: true }))

export const stopCommand: CommandModule<object, Many & { t: number, s?: string }> = {
  command: 'stop <container..>',
  describe: 'Stop running containers (SIGTERM, then SIGKILL after a grace time)',
  builder: (y) => many(y).option('t', { alias: 'time', type: 'number', default: 10, describe: 'seconds before SIGKILL' }).example('$0 stop -t 2 web', ''),
  handler: (a) => each(a, async (store, c) => { await stopContainer(store, c, a.t); process.stdout.write(c.name + '\n') }),
}

export const killCommand: CommandModule<object, Many & { s: string }> = {
  command: 'kill <container..>',
  describe: 'Send a signal to running containers (default SIGKILL)',
  builder: (y) => many(y).option('s', { alias: 'signal', type: 'string', default: 'KILL', describe: 'signal name or number' }).example('$0 kill -s HUP web', ''),
  handler: (a) => {
    const sig = signalNumber(a.s)
    return each(a, async (store, c) => { await killContainer(store, c, sig); process.stdout.write(c.name + '\n') })
  },
}

async function start (store: Store, c: ContainerRecord, attach: boolean): Promise<void> {
  const s = await reconcile(store, c)
  if (s.status === 'running') return
  if (attach) {
    process.exitCode = await runOwned(store, c, loadImage(store, c.manifest), { flags: s.flags ?? { hostname: c.id.slice(0, 12) }, autoRemove: s.autoRemove, stdin: 'ignore' })
    return
  }
  const after = await startSupervisor(store, c)
  if (after.status === 'exited' && after.error) throw errnoError('EIO', `container ${c.name}: ${after.error}`)
}

export const startCommand: CommandModule<object, Many & { a?: boolean }> = {
  command: 'start <container..>',
  describe: 'Start stopped containers (with the flags they were run with)',
  builder: (y) => many(y).option('a', { alias: 'attach', type: 'boolean', describe: 'wait for it, with its output and exit status' }).example('$0 start -a job', ''),
  handler: (a) => each(a, async (store, c) => { await start(store, c, !!a.a); if (!a.a) process.stdout.write(c.name + '\n') }),
}

export const restartCommand: CommandModule<object, Many & { t: number }> = {
  command: 'restart <container..>',
  describe: 'Stop and start containers',
  builder: (y) => many(y).option('t', { alias: 'time', type: 'number', default: 10, describe: 'seconds before SIGKILL' }).example('$0 restart -t 5 web', ''),
  handler: (a) => each(a, async (store, c) => { await stopContainer(store, c, a.t); await start(store, c, false); process.stdout.write(c.name + '\n') }),
}

export const waitCommand: CommandModule<object, Many> = {
  command: 'wait <container..>',
  describe: 'Wait for containers to stop; print their exit codes',
  builder: (y) => many(y).example('$0 wait job', 'prints its exit code once it stops'),
  handler: (a) => each(a, async (store, c) => {
    const s = await waitExited(store, c)
    process.stdout.write(`${s.exitCode ?? 0}\n`)
  }),
}

/** Prints the log lines from `offset`; returns the new offset. */
function printLog (file: string, offset: number, timestamps: boolean): number {
  let buf: Buffer
  try { buf = fs.readFileSync(file) } catch { return offset }
  const end = buf.lastIndexOf(0x0a) + 1
  if (end <= offset) return offset
  for (const line of buf.subarray(offset, end).toString('utf8').split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as { log: string, stream: string, time: string }
    ;(e.stream === 'stderr' ? process.stderr : process.stdout).write(timestamps ? `${e.time} ${e.log}` : e.log)
  }
  return end
}

export const logsCommand: CommandModule<object, RootArgs & { container: string, f?: boolean, timestamps?: boolean }> = {
  command: 'logs <container>',
  describe: 'Print the output of a detached container',
  builder: (y) => withRoot(y.positional('container', { type: 'string', demandOption: true })
    .option('f', { alias: 'follow', type: 'boolean', describe: 'keep printing until it exits' })
    .option('timestamps', { type: 'boolean', describe: 'each chunk with its time' })
    .example('$0 logs -f web', '')),
  handler: async (a) => {
    const store = openStore(a)
    const c = store.containers.get(a.container)
    const file = logPath(store, c)
    let off = printLog(file, 0, !!a.timestamps)
    while (a.f && (await reconcile(store, c)).status === 'running') {
      await new Promise((r) => setTimeout(r, 100))
      off = printLog(file, off, !!a.timestamps)
    }
    printLog(file, off, !!a.timestamps)
  },
}
