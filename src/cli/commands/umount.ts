// strata umount: unmount and wait for the daemon; also recovers a mount
// whose daemon died.
import type { CommandModule } from 'yargs'
import { unmount } from '../../fuse/mount-daemon.js'

interface Args {
  mountpoint: string
  lazy?: boolean
}

export const umountCommand: CommandModule<object, Args> = {
  command: 'umount <mountpoint>',
  aliases: ['unmount'],
  describe: 'Unmount a strata mount and wait for its daemon to finish',
  builder: (y) => y
    .positional('mountpoint', { type: 'string', demandOption: true })
    .option('lazy', { type: 'boolean', alias: 'l', describe: 'detach a busy mount now, finish when it is no longer used' })
    .example('$0 umount /mnt/x', ''),
  handler: async (a) => {
    await unmount(a.mountpoint, a.lazy)
  },
}
