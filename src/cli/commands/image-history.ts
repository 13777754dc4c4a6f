// strata image history (docker history): IMAGE CREATED CREATED BY SIZE
// COMMENT, newest first, with docker's -H/--human, --no-trunc, -q and
// --format (table, json, or a Go template over ID, CreatedSince, CreatedAt,
// CreatedBy, Size, Comment).
import type { CommandModule } from 'yargs'
import { resolveImage } from '../../image/resolve-image.js'
import { imageHistory } from '../../image/image-history.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { ago, checkFormat, formatRows, humanSize, shortId } from '../format.js'

interface Args extends RootArgs { image: string, format?: string, trunc?: boolean, human?: boolean, q?: boolean }

export const imageHistoryCommand: CommandModule<object, Args> = {
  command: 'history <image>',
  describe: 'Show the history of an image',
  builder: (y) => withRoot(y
    .positional('image', { type: 'string', demandOption: true })
    .option('format', { type: 'string', describe: 'table, json, or a Go template ({{.CreatedBy}})' })
    // yargs reads --no-trunc as trunc=false.
    .option('trunc', { type: 'boolean', default: true, describe: 'shorten IDs and CREATED BY (--no-trunc: do not)' })
    .option('H', { alias: 'human', type: 'boolean', default: true, describe: 'sizes and dates for people (-H=false: bytes and RFC 3339)' })
    .option('q', { alias: 'quiet', type: 'boolean', describe: 'only image IDs' })
    .example('$0 image history greeter:1', '')
    .example("$0 history --no-trunc --format '{{.CreatedBy}}' greeter:1", '')),
  handler: (a) => {
    checkFormat(a.format)
    const rows = imageHistory(resolveImage(openStore(a), a.image))
    const trunc = a.trunc !== false
    const id = (x: string | null): string => (x ? (trunc ? shortId(x) : x) : '<missing>')
    if (a.q) {
      process.stdout.write(rows.map((r) => id(r.id) + '\n').join(''))
      return
    }
    const by = (s: string): string => (!trunc || s.length <= 45 ? s : s.slice(0, 44) + '…')
    const human = a.human !== false
    const ctx = rows.map((r) => ({
      ID: id(r.id),
      CreatedSince: human ? ago(r.created) : r.created ?? '',
      CreatedAt: r.created ?? '',
      CreatedBy: by(r.createdBy),
      Size: human ? humanSize(r.size) : String(r.size),
      Comment: r.comment,
    }))
    process.stdout.write(formatRows(ctx, a.format, {
      table: 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
      headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY' },
    }))
  },
}
