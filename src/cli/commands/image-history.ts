// strata image history: IMAGE CREATED CREATED BY SIZE COMMENT, newest first.
import type { CommandModule } from 'yargs'
import { resolveImage } from '../../image/resolve-image.js'
import { imageHistory } from '../../image/image-history.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { ago, humanSize, shortId, table } from '../format.js'

interface Args extends RootArgs { image: string, format?: string, trunc?: boolean }

export const imageHistoryCommand: CommandModule<object, Args> = {
  command: 'history <image>',
  describe: 'Show the history of an image',
  builder: (y) => withRoot(y
    .positional('image', { type: 'string', demandOption: true })
    .option('format', { type: 'string', choices: ['table', 'json'], default: 'table' })
    // yargs reads --no-trunc as trunc=false.
    .option('trunc', { type: 'boolean', default: true, describe: 'shorten IDs and CREATED BY (--no-trunc: do not)' })
    .example('$0 image history greeter:1', '')),
  handler: (a) => {
    const rows = imageHistory(resolveImage(openStore(a), a.image))
    if (a.format === 'json') {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n')
      return
    }
    const by = (s: string): string => (!a.trunc || s.length <= 45 ? s : s.slice(0, 44) + '…')
    process.stdout.write(table([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
      ...rows.map((r) => [r.id ? (a.trunc ? shortId(r.id) : r.id) : '<missing>', ago(r.created), by(r.createdBy), humanSize(r.size), r.comment])]))
  },
}
