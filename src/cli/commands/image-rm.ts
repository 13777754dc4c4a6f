// strata image rm / prune.
import type { CommandModule } from 'yargs'
import { removeImage, pruneImages } from '../../image/remove-image.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { humanSize } from '../format.js'

interface RmArgs extends RootArgs { image: string[], f?: boolean }

export const imageRmCommand: CommandModule<object, RmArgs> = {
  command: 'rm <image..>',
  aliases: ['remove', 'rmi'],
  describe: 'Remove image names; an image goes when its last name does (not while a container uses it)',
  builder: (y) => withRoot(y.positional('image', { type: 'string', array: true, demandOption: true })
    .option('f', { alias: 'force', type: 'boolean', describe: 'remove even if several names or a container refer to it' })
    .example('$0 image rm greeter:latest', '')),
  handler: async (a) => {
    const store = openStore(a)
    for (const ref of a.image) {
      const r = await store.locked(() => removeImage(store, ref, a.f))
      for (const n of r.untagged) process.stdout.write(`Untagged: ${n}\n`)
      if (r.deleted) process.stdout.write(`Deleted: ${r.deleted}\n`)
    }
  },
}

export const imagePruneCommand: CommandModule<object, RootArgs> = {
  command: 'prune',
  describe: 'Remove dangling images, unreferenced blobs and layer dirs',
  builder: (y) => withRoot(y.option('f', { alias: 'force', type: 'boolean', describe: 'accepted for docker\'s scripts: strata never asks' })
    .example('$0 image prune', '')),
  handler: async (a) => {
    const store = openStore(a)
    const r = await store.locked(() => pruneImages(store))
    for (const d of r.images) process.stdout.write(`Deleted: ${d}\n`)
    process.stdout.write(`Total reclaimed space: ${humanSize(r.bytes)}\n`)
  },
}
