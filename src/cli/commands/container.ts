// strata container …: create, ls, rm, inspect.
import type { CommandModule } from 'yargs'
import { resolveImage } from '../../image/resolve-image.js'
import { errnoError } from '../../base/errno-error.js'
import { isMounted } from '../../fuse/mount-options.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { ago, shortId, table } from '../format.js'
import { mountedAt } from '../../fuse/mount-daemon.js'

interface CreateArgs extends RootArgs { image: string, name?: string }
interface ListArgs extends RootArgs { format?: string, q?: boolean }
interface RmArgs extends RootArgs { container: string[], f?: boolean }
interface InspectArgs extends RootArgs { container: string[] }

const inspect: CommandModule<object, InspectArgs> = {
  command: 'inspect <container..>',
  describe: 'Show containers in detail, as JSON',
  builder: (y) => withRoot(y.positional('container', { type: 'string', array: true, demandOption: true }).example('$0 container inspect web', '')),
  handler: (a) => {
    const store = openStore(a)
    const out = a.container.map((n) => {
      const c = store.containers.get(n)
      return { Id: c.id, Name: c.name, Created: c.created, Image: c.imageName, ImageManifest: c.manifest,
        UpperDir: store.containers.upper(c), WorkDir: store.containers.work(c), MountedOn: mountedAt(store.containers.upper(c)) }
    })
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

const ls: CommandModule<object, ListArgs> = {
  command: 'ls',
  aliases: ['list'],
  describe: 'List containers',
  builder: (y) => withRoot(y.option('format', { type: 'string', choices: ['table', 'json'], default: 'table' }).option('q', { alias: 'quiet', type: 'boolean' }).example('$0 container ls --format json', '')),
  handler: (a) => {
    const store = openStore(a)
    const cs = store.containers.list().map((c) => ({ ...c, mountpoint: mountedAt(store.containers.upper(c)) }))
    if (a.format === 'json') process.stdout.write(JSON.stringify(cs, null, 2) + '\n')
    else if (a.q) process.stdout.write(cs.map((c) => c.id.slice(0, 12) + '\n').join(''))
    else process.stdout.write(table([['CONTAINER ID', 'IMAGE', 'CREATED', 'MOUNTED ON', 'NAME'], ...cs.map((c) => [c.id.slice(0, 12), c.imageName, ago(c.created), c.mountpoint ?? '', c.name])]))
  },
}

const rm: CommandModule<object, RmArgs> = {
  command: 'rm <container..>',
  describe: 'Remove containers (and their writable layers)',
  builder: (y) => withRoot(y.positional('container', { type: 'string', array: true, demandOption: true }).option('f', { alias: 'force', type: 'boolean', describe: 'also when mounted: unmount first' }).example('$0 container rm web', '')),
  handler: async (a) => {
    const store = openStore(a)
    for (const name of a.container) {
      await store.locked(async () => {
        const c = store.containers.get(name)
        const mnt = mountedAt(store.containers.upper(c))
        if (mnt && isMounted(mnt)) {
          if (!a.f) throw errnoError('EBUSY', `container ${c.name} is mounted on ${mnt}: strata umount it first (or rm -f)`)
          const { unmount } = await import('../../fuse/mount-daemon.js')
          await unmount(mnt)
        }
        store.containers.remove(c)
        process.stdout.write(c.name + '\n')
      })
    }
  },
}

export const containerCommand: CommandModule = {
  command: 'container <command>',
  describe: 'Manage containers (writable layers on images)',
  builder: (y) => y.command(create as CommandModule).command(ls as CommandModule).command(rm as CommandModule).command(inspect as CommandModule).demandCommand(1, 'name a container command')
    .example('$0 container create --name web debian:12', ''),
  handler: () => {},
}
