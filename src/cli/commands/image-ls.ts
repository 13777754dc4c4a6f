// strata image ls: REPOSITORY TAG IMAGE ID CREATED SIZE.
import type { CommandModule } from 'yargs'
import { listImages } from '../../image/resolve-image.js'
import { imageSize } from '../../image/image-history.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { ago, humanSize, shortId, table } from '../format.js'

interface Args extends RootArgs { q?: boolean, format?: string }

export const imageLsCommand: CommandModule<object, Args> = {
  command: 'ls',
  aliases: ['list'],
  describe: 'List images',
  builder: (y) => withRoot(y
    .option('q', { alias: 'quiet', type: 'boolean', describe: 'only image IDs' })
    .option('format', { type: 'string', choices: ['table', 'json'], default: 'table' })
    .example('$0 image ls --format json', '')),
  handler: (a) => {
    const rows = listImages(openStore(a)).flatMap((img) => {
      const names = img.names.length ? img.names : ['<none>:<none>']
      return names.map((n) => {
        const i = n.lastIndexOf(':')
        return { repository: n.slice(0, i), tag: n.slice(i + 1), id: img.configDigest, manifest: img.manifestDigest, created: img.config.created, size: imageSize(img) }
      })
    })
    if (a.format === 'json') process.stdout.write(JSON.stringify(rows, null, 2) + '\n')
    else if (a.q) process.stdout.write([...new Set(rows.map((r) => shortId(r.id)))].map((x) => x + '\n').join(''))
    else process.stdout.write(table([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows.map((r) => [r.repository, r.tag, shortId(r.id), ago(r.created), humanSize(r.size)])]))
  },
}
