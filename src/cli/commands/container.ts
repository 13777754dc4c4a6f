// strata container …: create, ls (ps), rm, inspect, prune, and the
// lifecycle verbs (stop, kill, start, restart, wait, logs, exec). ls shows
// docker's columns; without -a only running containers, as docker.
import type { CommandModule } from 'yargs'
import { resolveImage } from '../../image/resolve-image.js'
import { errnoError } from '../../base/errno-error.js'
import { isMounted } from '../../fuse/mount-options.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { ago, checkFormat, formatRows, goTime, shortId } from '../format.js'
import { mountedAt } from '../../fuse/mount-daemon.js'
import { reconcile } from '../../run/container-reconcile.js'
import { stopContainer } from '../../run/container-control.js'
import { sweepRunMounts } from '../../run/run-container.js'
import type { ContainerState } from '../../run/container-state.js'
import type { Store } from '../../store/store.js'
import type { ContainerRecord } from '../../store/container-store.js'
import { execCommand } from './exec.js'
import { killCommand, logsCommand, restartCommand, startCommand, stopCommand, waitCommand } from './lifecycle.js'

interface CreateArgs extends RootArgs { image: string, name?: string }
interface ListArgs extends RootArgs { format?: string, q?: boolean, a?: boolean, trunc?: boolean }
interface RmArgs extends RootArgs { container: string[], f?: boolean }
interface InspectArgs extends RootArgs { container: string[] }

/** docker's STATUS column. */
export function statusText (s: ContainerState, now = Date.now()): string {
  if (s.status === 'running') return `Up ${ago(s.startedAt, now).replace(/ ago$/, '').replace(/^Less than a second$/, 'Less than a second')}`
  if (s.status === 'exited') return `Exited (${s.exitCode ?? 0}) ${ago(s.finishedAt, now)}`
  return 'Created'
}

/** docker's COMMAND column: quoted, cut to 20 characters unless --no-trunc. */
function commandText (s: ContainerState, full: boolean): string {
  const argv = s.command ?? [...(s.flags?.entrypoint ? [s.flags.entrypoint] : []), ...(s.flags?.command ?? [])]
  const text = argv.join(' ')
  return `"${full || text.length <= 20 ? text : text.slice(0, 19) + '…'}"`
}

async function states (store: Store): Promise<Array<ContainerRecord & { state: ContainerState, mountpoint: string | null }>> {
  await sweepRunMounts()
  const out = []
  for (const c of store.containers.list()) {
    const state = await reconcile(store, c)
    if (!store.containers.find(c.id)) continue // removed by --rm during the repair
    out.push({ ...c, state, mountpoint: mountedAt(store.containers.upper(c)) })
  }
  return out
}

const inspect: CommandModule<object, InspectArgs> = {
  command: 'inspect <container..>',
  describe: 'Show containers in detail, as JSON',
  builder: (y) => withRoot(y.positional('container', { type: 'string', array: true, demandOption: true }).example('$0 container inspect web', '')),
  handler: async (a) => {
    const store = openStore(a)
    const out = []
    for (const n of a.container) {
      const c = store.containers.get(n)
      const s = await reconcile(store, c)
      out.push({
        Id: c.id,
        Name: c.name,
        Created: c.created,
        Image: c.imageName,
        ImageManifest: c.manifest,
        State: { Status: s.status, Running: s.status === 'running', Pid: s.initPid ?? 0, ExitCode: s.exitCode ?? 0, Error: s.error ?? '', StartedAt: s.startedAt ?? '', FinishedAt: s.finishedAt ?? '' },
        Path: s.command?.[0] ?? '',
        Args: s.command?.slice(1) ?? [],
        UpperDir: store.containers.upper(c),
        WorkDir: store.containers.work(c),
        MountedOn: mountedAt(store.containers.upper(c)),
      })
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  },
}

const create: CommandModule<object, CreateArgs> = {
  command: 'create <image>',
  describe: 'Create a writable layer on an image',
  builder: (y) => withRoot(y.positional('image', { type: 'string', demandOption: true }).option('name', { type: 'string' })
    .example('$0 container create --name web debian:12', '')),
  handler: async (a) => {
    const store = openStore(a)
    const c = await store.locked(() => {
      const img = resolveImage(store, a.image)
      return store.containers.create(a.name, img.manifestDigest, img.names[0] ?? shortId(img.configDigest))
    })
    process.stdout.write(c.id + '\n')
  },
}

export const lsCommand: CommandModule<object, ListArgs> = {
  command: 'ls',
  aliases: ['list', 'ps'],
  describe: 'List containers (running ones; -a: all)',
  builder: (y) => withRoot(y.option('format', { type: 'string', describe: 'table (default), json (one object a line, docker\'s keys), or a Go template: \'{{.Names}}\t{{.Status}}\', \'table {{.ID}}\t{{.Command}}\'' })
    .option('q', { alias: 'quiet', type: 'boolean', describe: 'IDs only' })
    .option('a', { alias: 'all', type: 'boolean', describe: 'also containers that are not running' })
    // yargs reads --no-trunc as trunc=false.
    .option('trunc', { type: 'boolean', default: true, describe: 'shorten IDs and commands (--no-trunc: do not)' })
    .example('$0 container ls -a', '').example('$0 ps -a --format \'{{.Names}}: {{.Status}}\'', '')),
  handler: async (a) => {
    checkFormat(a.format)
    const store = openStore(a)
    const cs = (await states(store)).filter((c) => a.a || c.state.status === 'running').reverse()
    const full = a.trunc === false
    if (a.q) {
      process.stdout.write(cs.map((c) => (full ? c.id : c.id.slice(0, 12)) + '\n').join(''))
      return
    }
    // The fields of docker ps --format, by docker's names.
    const rows = cs.map((c) => ({
      ID: full ? c.id : c.id.slice(0, 12),
      Image: c.imageName,
      Command: commandText(c.state, full),
      CreatedAt: goTime(c.created),
      RunningFor: ago(c.created),
      Ports: '',
      State: c.state.status,
      Status: statusText(c.state),
      Size: '0B',
      Names: c.name,
      Labels: '',
      Mounts: '',
      Networks: c.state.flags?.network ?? 'none',
    }))
    process.stdout.write(formatRows(rows, a.format, {
      table: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}',
      headers: { ID: 'CONTAINER ID', RunningFor: 'CREATED', CreatedAt: 'CREATED AT' },
    }))
  },
}

/** Removes one container: a running one only with force (stopped first, SIGKILL as docker rm -f). */
async function removeContainer (store: Store, c: ContainerRecord, force: boolean): Promise<void> {
  const s = await reconcile(store, c)
  if (!store.containers.find(c.id)) return
  if (s.status === 'running') {
    if (!force) throw errnoError('EBUSY', `container ${c.name} is running: stop it first (or rm -f)`)
    await stopContainer(store, c, 0)
    if (!store.containers.find(c.id)) return // it was --rm
  }
  await store.locked(async () => {
    const mnt = mountedAt(store.containers.upper(c))
    if (mnt && isMounted(mnt)) {
      if (!force) throw errnoError('EBUSY', `container ${c.name} is mounted on ${mnt}: strata umount it first (or rm -f)`)
      const { unmount } = await import('../../fuse/mount-daemon.js')
      await unmount(mnt)
    }
    store.containers.remove(c)
  })
}

const rm: CommandModule<object, RmArgs> = {
  command: 'rm <container..>',
  describe: 'Remove containers (and their writable layers)',
  builder: (y) => withRoot(y.positional('container', { type: 'string', array: true, demandOption: true }).option('f', { alias: 'force', type: 'boolean', describe: 'also when running or mounted: kill / unmount first' }).example('$0 container rm -f web', '')),
  handler: async (a) => {
    const store = openStore(a)
    for (const name of a.container) {
      const c = store.containers.get(name)
      await removeContainer(store, c, !!a.f)
      process.stdout.write(name + '\n')
    }
  },
}

const prune: CommandModule<object, RootArgs & { f?: boolean }> = {
  command: 'prune',
  describe: 'Remove all containers that are not running (nor mounted)',
  builder: (y) => withRoot(y.option('f', { alias: 'force', type: 'boolean', describe: 'do not ask (strata never asks)' }).example('$0 container prune', '')),
  handler: async (a) => {
    const store = openStore(a)
    const gone: string[] = []
    for (const c of await states(store)) {
      if (c.state.status === 'running' || c.mountpoint) continue
      await store.locked(() => { store.containers.remove(c) })
      gone.push(c.id)
    }
    process.stdout.write(gone.length ? `Deleted Containers:\n${gone.join('\n')}\n` : '')
  },
}

export const containerCommand: CommandModule = {
  command: 'container <command>',
  describe: 'Manage containers (writable layers on images)',
  builder: (y) => [create, lsCommand, rm, inspect, prune, stopCommand, killCommand, startCommand, restartCommand, waitCommand, logsCommand, execCommand]
    .reduce((acc, c) => acc.command(c as CommandModule), y).demandCommand(1, 'name a container command')
    .example('$0 container create --name web debian:12', '')
    .example('$0 container ls -a', ''),
  handler: () => {},
}
