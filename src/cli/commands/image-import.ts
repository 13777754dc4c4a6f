// strata image import: a rootfs (tar, tar.gz, directory or -) as an image.
import type { CommandModule } from 'yargs'
import { importImage } from '../../image/import-image.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { withProgress } from '../progress.js'
import { withChanges, changesOf, type ChangeArgs } from '../change-options.js'
import { stdinWord } from '../stdin-word.js'

interface Args extends RootArgs, ChangeArgs { source: string, name?: string }

export const imageImportCommand: CommandModule<object, Args> = {
  command: 'import <source> [name]',
  describe: 'Import a rootfs tarball, gzipped tarball, directory or - (stdin) as an image',
  builder: (y) => withRoot(withChanges(y, 'history comment')
    .positional('source', { type: 'string', demandOption: true, coerce: stdinWord })
    .positional('name', { type: 'string', describe: 'repository[:tag]' })
    .example('$0 image import rootfs.tar.gz debian:12 -m base -c \'CMD ["/bin/sh"]\'', '')),
  handler: async (a) => {
    const store = openStore(a)
    const r = await withProgress('Importing', (progress) => importImage(store, a.source, a.name, { message: a.m, changes: changesOf(a), progress }))
    process.stdout.write(r.id + '\n')
  },
}
