// strata info (docker info): the store (its root, images, containers) and
// the system strata runs on; --format takes a Go template ({{.Images}}).
import os from 'node:os'
import fs from 'node:fs'
import type { CommandModule } from 'yargs'
import { listImages } from '../../image/resolve-image.js'
import { mountedAt } from '../../fuse/mount-daemon.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { checkFormat, humanSize } from '../format.js'
import { execute, parseTemplate } from '../go-template.js'
import { version } from '../package-version.js'

interface Args extends RootArgs { format?: string }

function osName (): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os.type()
  } catch {
    return os.type()
  }
}

export const infoCommand: CommandModule<object, Args> = {
  command: 'info',
  describe: 'Show the store and the system strata runs on',
  builder: (y) => withRoot(y.option('format', { alias: 'f', type: 'string', describe: 'json, or a Go template ({{.Images}})' })
    .example('$0 info --format \'{{.Containers}} containers in {{.RootDir}}\'', '')),
  handler: (a) => {
    checkFormat(a.format)
    const store = openStore(a)
    const containers = store.containers.list()
    const mounted = containers.filter((c) => mountedAt(store.containers.upper(c))).length
    const info = {
      Containers: containers.length,
      ContainersMounted: mounted,
      Images: listImages(store).length,
      Driver: 'strata (overlay through FUSE)',
      RootDir: store.root,
      ServerVersion: version(),
      KernelVersion: os.release(),
      OperatingSystem: osName(),
      OSType: os.platform(),
      Architecture: os.machine(),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      FuseDevice: fs.existsSync('/dev/fuse'),
    }
    if (a.format !== undefined) {
      process.stdout.write(execute(parseTemplate(a.format === 'json' ? '{{json .}}' : a.format), info) + '\n')
      return
    }
    process.stdout.write([
      `Containers: ${info.Containers}`, ` Mounted: ${info.ContainersMounted}`, `Images: ${info.Images}`,
      `Server Version: ${info.ServerVersion}`, `Storage Driver: ${info.Driver}`, `Root Dir: ${info.RootDir}`,
      `Kernel Version: ${info.KernelVersion}`, `Operating System: ${info.OperatingSystem}`, `OSType: ${info.OSType}`,
      `Architecture: ${info.Architecture}`, `CPUs: ${info.NCPU}`, `Total Memory: ${humanSize(info.MemTotal)}`,
      `FUSE: ${info.FuseDevice ? '/dev/fuse' : 'no /dev/fuse'}`,
    ].join('\n') + '\n')
  },
}
