// strata image convert --estargz SRC DST: a new local image whose layers are
// eStargz (lazily pullable once pushed), the source left as it was.
import type { CommandModule } from 'yargs'
import { convertImage } from '../../image/convert-estargz.js'
import { parseReference } from '../../image/reference.js'
import { errnoError } from '../../base/errno-error.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { RECORD_DESCRIBE, prioritizedFiles, type PrioritizeArgs } from '../estargz-record.js'

interface Args extends RootArgs, PrioritizeArgs { source: string, target: string, estargz?: boolean, 'chunk-size'?: number }

export const imageConvertCommand: CommandModule<object, Args> = {
  command: 'convert <source> <target>',
  describe: 'Copy an image with its layers in another format (--estargz: lazily pullable)',
  builder: (y) => withRoot(y.positional('source', { type: 'string', demandOption: true, describe: 'the image to convert' })
    .positional('target', { type: 'string', demandOption: true, describe: 'name of the new image, repository[:tag]' })
    .option('estargz', { type: 'boolean', describe: 'write eStargz layers (per-file gzip members and a table of contents)' })
    .option('chunk-size', { type: 'number', describe: 'bytes of a big file per gzip member (default 4 MiB)' })
    .option('prioritize', { type: 'string', describe: 'a file to put first, before the prefetch landmark: fetched as soon as a lazy pull mounts (repeatable)' })
    .option('estargz-record', { type: 'string', describe: RECORD_DESCRIBE })
    .example('$0 image convert --estargz app:1 app:1-esgz', '')
    .example('$0 image convert --estargz --estargz-record app:1 app:1-esgz', 'the files the image\'s command opens, prefetched')
    .example('$0 image convert --estargz --prioritize /bin/sh --prioritize /etc/app.conf app:1 app:1-esgz', 'files a start reads, prefetched')),
  handler: async (a) => {
    if (!a.estargz) throw errnoError('EINVAL', 'say which format to convert to: --estargz')
    const chunkSize = a['chunk-size']
    if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize < 4096)) throw errnoError('EINVAL', `--chunk-size ${chunkSize}: a whole number of bytes, at least 4096`)
    parseReference(a.target)
    const store = openStore(a)
    const r = await convertImage(store, a.source, a.target, { chunkSize, prioritized: await prioritizedFiles(store, a.source, a) })
    process.stdout.write(`${r.configDigest}\n`)
  },
}
