// strata mount: mount layers as one directory (kernel overlayfs's meaning).
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import type { CommandModule } from 'yargs'
import { parseMountArgs } from '../../fuse/mount-options.js'
import { serve } from '../../fuse/serve.js'
import { startDaemon } from '../../fuse/mount-daemon.js'

interface Args {
  mountpoint: string
  lowerdir?: string
  upperdir?: string
  workdir?: string
  o?: string | string[]
  f?: boolean
  debug?: boolean
}

export const mountCommand: CommandModule<object, Args> = {
  command: 'mount <mountpoint>',
  describe: 'Mount lower layers (and an upper layer) as one directory through FUSE',
  builder: (y) => y
    .positional('mountpoint', { type: 'string', demandOption: true, describe: 'where to mount' })
    .option('lowerdir', { type: 'string', describe: 'lower layers, top first, separated by ":"' })
    .option('upperdir', { type: 'string', describe: 'the writable layer' })
    .option('workdir', { type: 'string', describe: 'scratch dir on the same filesystem as upperdir' })
    .option('o', { type: 'string', describe: 'mount options: lowerdir=,upperdir=,workdir=,ro,timeout=SECONDS,…' })
    .option('f', { type: 'boolean', alias: 'foreground', describe: 'stay in the foreground' })
    .option('debug', { type: 'boolean', describe: 'log every request (implies -f)' })
    .example('$0 mount --lowerdir /l2:/l1 --upperdir /u --workdir /w /mnt/x', 'a writable union')
    .example('$0 mount -o lowerdir=/l2:/l1,upperdir=/u,workdir=/w /mnt/x', 'fuse-overlayfs style')
    .example('$0 mount --lowerdir /l2:/l1 /mnt/ro', 'a read-only view'),
  handler: async (a) => {
    const req = parseMountArgs({ mountpoint: a.mountpoint, lowerdir: a.lowerdir, upperdir: a.upperdir, workdir: a.workdir, options: a.o === undefined ? [] : [a.o].flat(), debug: a.debug })
    if (a.f || a.debug) {
      process.exitCode = await serve(req) === 0 ? 0 : 1
      return
    }
    const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.js')
    const args = ['mount', '-f', '--lowerdir', req.lowerdirs.join(':'), '-o', `timeout=${req.timeout}`]
    if (req.upperdir && req.workdir) args.push('--upperdir', req.upperdir, '--workdir', req.workdir)
    if (req.fuseOptions.length) args.push('-o', req.fuseOptions.join(','))
    args.push(req.mountpoint)
    await startDaemon(main, args, req.mountpoint)
  },
}
