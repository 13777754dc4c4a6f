// strata version (docker version): strata's version and what it runs on;
// --format takes a Go template over docker's shape ({{.Client.Version}}).
import os from 'node:os'
import type { CommandModule } from 'yargs'
import { checkFormat, table } from '../format.js'
import { execute, parseTemplate } from '../go-template.js'
import { version } from '../package-version.js'

interface Args { format?: string }

const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' }

export const versionCommand: CommandModule<object, Args> = {
  command: 'version',
  describe: 'Show the version of strata and of what it runs on',
  builder: (y) => y.option('format', { alias: 'f', type: 'string', describe: 'json, or a Go template ({{.Client.Version}})' })
    .example('$0 version --format \'{{.Client.Version}}\'', ''),
  handler: (a) => {
    checkFormat(a.format)
    const info = {
      Client: {
        Version: version(),
        NodeVersion: process.version,
        Os: os.platform(),
        Arch: GOARCH[os.arch()] ?? os.arch(),
        KernelVersion: os.release(),
      },
    }
    if (a.format !== undefined) {
      process.stdout.write(execute(parseTemplate(a.format === 'json' ? '{{json .}}' : a.format), info) + '\n')
      return
    }
    const c = info.Client
    process.stdout.write('Client:\n' + table([[' Version:', c.Version], [' Node version:', c.NodeVersion], [' OS/Arch:', `${c.Os}/${c.Arch}`], [' Kernel:', c.KernelVersion]]))
  },
}
