// strata image pull HOST/REPO[:TAG|@DIGEST]
import type { CommandModule } from 'yargs'
import { pullImage } from '../../registry/pull-image.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { withRegistry, type RegistryArgs } from '../registry-options.js'
import { withTransferProgress } from '../transfer-progress.js'

interface Args extends RootArgs, RegistryArgs { image: string, q?: boolean, lazy?: boolean }

export const imagePullCommand: CommandModule<object, Args> = {
  command: 'pull <image>',
  describe: 'Download an image from a registry (digests verified before it is stored)',
  builder: (y) => withRoot(withRegistry(y.positional('image', { type: 'string', demandOption: true, describe: 'host[:port]/repository[:tag|@digest]' })
    .option('q', { alias: 'quiet', type: 'boolean', describe: 'print only the image name' })
    .option('lazy', { type: 'boolean', describe: 'eStargz layers: fetch only their tables of contents now, file contents when read' })
    .example('$0 image pull localhost:5000/greeter:1', ''))),
  handler: async (a) => {
    const store = openStore(a)
    const r = await withTransferProgress(a.q, (events) => pullImage(store, a.image, { insecure: a.insecure, events, lazy: a.lazy }))
    if (a.q) process.stdout.write(`${r.name ?? r.digest}\n`)
  },
}
