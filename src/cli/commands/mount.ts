// strata mount: mount layers as one directory (kernel overlayfs's meaning).
import type { CommandModule } from 'yargs'
import { parseMountArgs } from '../../fuse/mount-options.js'
import { mountOrServe } from '../../fuse/mount-or-serve.js'
import { openStore } from '../store-option.js'
import { storeLayers } from '../../image/store-layers.js'
import { layerOpener } from '../layer-opener.js'
import { refuseMountedUpper } from '../../fuse/mount-daemon.js'

interface Args {
  what: string
  mountpoint?: string
  root?: string
  lowerdir?: string
  upperdir?: string
  workdir?: string
  o?: string | string[]
  f?: boolean
  debug?: boolean
}

export const mountCommand: CommandModule<object, Args> = {
  command: 'mount <what> [mountpoint]',
  describe: 'Mount a container or an image from the store, or raw layers (--lowerdir …), as one directory through FUSE',
  builder: (y) => y
    .positional('what', { type: 'string', demandOption: true, describe: 'a container or an image (then give a mountpoint), or the mountpoint of a raw mount' })
    .positional('mountpoint', { type: 'string', describe: 'where to mount' })
    .option('root', { type: 'string', describe: 'store directory (for containers and images)' })
    .option('lowerdir', { type: 'string', describe: 'lower layers, top first, separated by ":"' })
    .option('upperdir', { type: 'string', describe: 'the writable layer' })
    .option('workdir', { type: 'string', describe: 'scratch dir on the same filesystem as upperdir' })
    .option('o', { type: 'string', describe: 'mount options: lowerdir=,upperdir=,workdir=,ro,timeout=SECONDS, fuse-overlayfs\'s volatile,fsync=0,uidmapping=,gidmapping=,squash_to_root,squash_to_uid=,squash_to_gid=,static_nlink, kernel overlay options (README)' })
    .option('f', { type: 'boolean', alias: 'foreground', describe: 'stay in the foreground' })
    .option('debug', { type: 'boolean', describe: 'log every request (implies -f)' })
    .example('$0 mount --lowerdir /l2:/l1 --upperdir /u --workdir /w /mnt/x', 'a writable union')
    .example('$0 mount -o lowerdir=/l2:/l1,upperdir=/u,workdir=/w /mnt/x', 'fuse-overlayfs style')
    .example('$0 mount --lowerdir /l2:/l1 /mnt/ro', 'a read-only view')
    .example('$0 mount web /mnt/web', 'a container of the store (an image alone mounts read-only), nosuid,nodev unless -o suid,dev')
    .example('$0 -o lowerdir=/l,upperdir=/u,workdir=/w,volatile /mnt/x', 'fuse-overlayfs\'s own command line (podman\'s mount_program)'),
  handler: async (a) => {
    const options = a.o === undefined ? [] : [a.o].flat()
    const req = a.mountpoint === undefined
      ? parseMountArgs({ mountpoint: a.what, lowerdir: a.lowerdir, upperdir: a.upperdir, workdir: a.workdir, options, debug: a.debug })
      : parseMountArgs({ mountpoint: a.mountpoint, ...storeLayers(openStore(a), a.what), options, debug: a.debug, byName: true, ownContainer: true })
    refuseMountedUpper(req.upperdir, a.mountpoint === undefined ? undefined : a.what)
    process.exitCode = await mountOrServe(req, a.f === true || a.debug === true, await layerOpener(req))
  },
}
