// strata commit: a container's changes as a new image.
import type { CommandModule } from 'yargs'
import { commitContainer } from '../../image/commit-container.js'
import { mountedAt } from '../../fuse/mount-daemon.js'
import { withMountPaused } from '../../fuse/pause-control.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { withProgress } from '../progress.js'
import { withChanges, changesOf, type ChangeArgs } from '../change-options.js'

interface Args extends RootArgs, ChangeArgs { container: string, name?: string, a?: string }

export const commitCommand: CommandModule<object, Args> = {
  command: 'commit <container> [name]',
  describe: "Create a new image from a container's changes",
  builder: (y) => withRoot(withChanges(y, 'commit message')
    .positional('container', { type: 'string', demandOption: true })
    .positional('name', { type: 'string', describe: 'repository[:tag]' })
    .option('a', { alias: 'author', type: 'string', describe: 'author, e.g. "Jane <j@x>"' })
    .example('$0 commit -m greet -a "Jane <j@x>" -c \'CMD ["/bin/cat","/greeting"]\' web greeter:1', '')),
  handler: async (a) => {
    const store = openStore(a)
    const c = store.containers.get(a.container)
    // A mounted container keeps running: its writes wait while the upper is read.
    const mnt = mountedAt(store.containers.upper(c))
    const hold = mnt ? <T>(read: () => Promise<T>) => withMountPaused(mnt, read) : undefined
    const r = await withProgress('Committing', (progress) => commitContainer(store, c, a.name, { message: a.m, author: a.a, changes: changesOf(a), hold, progress }))
    process.stdout.write(r.id + '\n')
  },
}
