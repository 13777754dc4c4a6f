// strata image import: a rootfs (tar, tar.gz, directory or -) as an image.
import type { CommandModule } from 'yargs'
import { importImage } from '../../image/import-image.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'

interface Args extends RootArgs { source: string, name?: string, m?: string, c?: string | string[] }

export const imageImportCommand: CommandModule<object, Args> = {
  command: 'import <source> [name]',
  describe: 'Import a rootfs tarball, gzipped tarball, directory or - (stdin) as an image',
  builder: (y) => withRoot(y
    .positional('source', { type: 'string', demandOption: true })
    .positional('name', { type: 'string', describe: 'repository[:tag]' })
    .option('m', { alias: 'message', type: 'string', describe: 'history comment' })
    .option('c', { alias: 'change', type: 'string', describe: 'apply a Dockerfile instruction (CMD, ENV, …); repeatable' })
    .example('$0 image import rootfs.tar.gz debian:12 -m base -c \'CMD ["/bin/sh"]\'', '')),
  handler: async (a) => {
    const store = openStore(a)
    const r = await importImage(store, a.source, a.name, { message: a.m, changes: a.c === undefined ? [] : [a.c].flat() })
    process.stdout.write(r.id + '\n')
  },
}
