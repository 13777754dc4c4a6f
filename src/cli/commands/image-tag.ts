// strata image tag: give an image another name.
import type { CommandModule } from 'yargs'
import { resolveImage, manifestDescriptor } from '../../image/resolve-image.js'
import { parseReference } from '../../image/reference.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'

interface Args extends RootArgs { source: string, target: string }

export const imageTagCommand: CommandModule<object, Args> = {
  command: 'tag <source> <target>',
  describe: 'Name an image (repository[:tag])',
  builder: (y) => withRoot(y.positional('source', { type: 'string', demandOption: true }).positional('target', { type: 'string', demandOption: true })
    .example('$0 image tag greeter:1 greeter:latest', '')),
  handler: async (a) => {
    const store = openStore(a)
    await store.locked(() => {
      const img = resolveImage(store, a.source)
      store.index.tag(parseReference(a.target).name, manifestDescriptor(store, img))
    })
  },
}
