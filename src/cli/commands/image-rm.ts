// strata image rm (docker rmi) / prune, with docker's output.
import type { CommandModule } from 'yargs'
import { removeImage, pruneImages, type PrunedImage } from '../../image/remove-image.js'
import type { Store } from '../../store/store.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { humanSize } from '../format.js'
import { report } from '../report.js'

interface RmArgs extends RootArgs { image: string[], f?: boolean }
interface PruneArgs extends RootArgs { a?: boolean, f?: boolean }

export const imageRmCommand: CommandModule<object, RmArgs> = {
  command: 'rm <image..>',
  aliases: ['remove', 'rmi'],
  describe: 'Remove image names; an image goes when its last name does (not while a container uses it)',
  builder: (y) => withRoot(y.positional('image', { type: 'string', array: true, demandOption: true })
    .option('f', { alias: 'force', type: 'boolean', describe: 'remove by ID even with several names; an image a container uses loses its names and stays as <none>' })
    .example('$0 image rm greeter:latest', '')
    .example('$0 rmi -f 3f2a1b4c5d6e', 'every name of the image with this ID')),
  handler: async (a) => {
    const store = openStore(a)
    // As docker: each image is tried; the failures are reported, the status is 1 if any failed.
    for (const ref of a.image) {
      try {
        const r = await store.locked(() => removeImage(store, ref, a.f))
        for (const n of r.untagged) process.stdout.write(`Untagged: ${n}\n`)
        if (r.deleted) process.stdout.write(`Deleted: ${r.deleted}\n`)
      } catch (err) {
        report(err)
      }
    }
  },
}

/** docker's prune output: the images, then what was reclaimed. */
export function printPruned (images: PrunedImage[], bytes: number): void {
  if (images.length) {
    process.stdout.write('Deleted Images:\n')
    for (const i of images) {
      for (const n of i.untagged) process.stdout.write(`untagged: ${n}\n`)
      process.stdout.write(`deleted: ${i.id}\n`)
    }
    process.stdout.write('\n')
  }
  process.stdout.write(`Total reclaimed space: ${humanSize(bytes)}\n`)
}

export function prune (store: Store, all: boolean): Promise<{ images: PrunedImage[], bytes: number }> {
  return store.locked(() => pruneImages(store, { all }))
}

export const imagePruneCommand: CommandModule<object, PruneArgs> = {
  command: 'prune',
  describe: 'Remove dangling images (-a: every image no container uses), the build cache, unreferenced blobs and layer dirs',
  builder: (y) => withRoot(y
    .option('a', { alias: 'all', type: 'boolean', describe: 'also the named images no container uses' })
    .option('f', { alias: 'force', type: 'boolean', describe: 'accepted for docker\'s scripts: strata never asks' })
    .example('$0 image prune', 'images with no name')
    .example('$0 image prune -a -f', 'every image no container uses')),
  handler: async (a) => {
    const r = await prune(openStore(a), a.a ?? false)
    printPruned(r.images, r.bytes)
  },
}
