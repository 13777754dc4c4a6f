// strata image push HOST/REPO[:TAG]
import type { CommandModule } from 'yargs'
import { pushImage } from '../../registry/push-image.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { withRegistry, type RegistryArgs } from '../registry-options.js'
import { withTransferProgress } from '../transfer-progress.js'
import { RECORD_DESCRIBE, prioritizedFiles, type PrioritizeArgs } from '../estargz-record.js'

interface Args extends RootArgs, RegistryArgs, PrioritizeArgs { image: string, q?: boolean, estargz?: boolean }

export const imagePushCommand: CommandModule<object, Args> = {
  command: 'push <image>',
  describe: 'Upload an image to a registry (tag it host[:port]/repository[:tag] first)',
  builder: (y) => withRoot(withRegistry(y.positional('image', { type: 'string', demandOption: true, describe: 'host[:port]/repository[:tag]' })
    .option('q', { alias: 'quiet', type: 'boolean', describe: 'print only the manifest digest' })
    .option('estargz', { type: 'boolean', describe: 'push the layers as eStargz, so that the image can be pulled lazily' })
    .option('prioritize', { type: 'string', describe: 'with --estargz: a file fetched first by a lazy pull (repeatable)' })
    .option('estargz-record', { type: 'string', describe: `with --estargz: ${RECORD_DESCRIBE}` })
    .example('$0 image tag greeter:1 localhost:5000/greeter:1', '')
    .example('$0 image push localhost:5000/greeter:1', ''))),
  handler: async (a) => {
    const store = openStore(a)
    const prioritized = await prioritizedFiles(store, a.image, a)
    const r = await withTransferProgress(a.q, (events) => pushImage(store, a.image, { insecure: a.insecure, events, estargz: a.estargz || prioritized !== undefined, prioritized }))
    if (a.q) process.stdout.write(`${r.digest}\n`)
  },
}
