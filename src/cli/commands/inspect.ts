// strata inspect (docker inspect): each name is a container if one has it,
// else an image; --type restricts to one kind. Prints as image inspect does.
import type { CommandModule } from 'yargs'
import { resolveImage } from '../../image/resolve-image.js'
import { errnoError } from '../../base/errno-error.js'
import { mountedAt } from '../../fuse/mount-daemon.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { checkFormat } from '../format.js'
import { inspectEach, inspectImage } from './image-inspect.js'

interface Args extends RootArgs { name: string[], type?: string, format?: string }

export const inspectCommand: CommandModule<object, Args> = {
  command: 'inspect <name..>',
  describe: 'Show images or containers in detail, as JSON',
  builder: (y) => withRoot(y.positional('name', { type: 'string', array: true, demandOption: true, describe: 'container or image' })
    .option('type', { type: 'string', choices: ['container', 'image'] })
    .option('format', { alias: 'f', type: 'string', describe: 'json, or a Go template for each object' })
    .example('$0 inspect --format \'{{.Config.Cmd}}\' greeter:1', '')),
  handler: (a) => {
    checkFormat(a.format)
    const store = openStore(a)
    inspectEach(a.name, (n) => {
      const c = a.type === 'image' ? null : store.containers.find(n)
      if (c) {
        // The keys of `strata container inspect`.
        return {
          Id: c.id,
          Name: c.name,
          Created: c.created,
          Image: c.imageName,
          ImageManifest: c.manifest,
          UpperDir: store.containers.upper(c),
          WorkDir: store.containers.work(c),
          MountedOn: mountedAt(store.containers.upper(c))
        }
      }
      if (a.type === 'container') throw errnoError('ENOENT', `no container ${n}`)
      return inspectImage(store, resolveImage(store, n))
    }, a.format)
  },
}
