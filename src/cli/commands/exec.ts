// strata exec: a command in a running container (docker exec), with the
// container's namespaces, capabilities and seccomp filter. The exit status
// is the command's; strata's own errors exit 125 (126/127: cannot run / not
// found), as docker's.
import type { CommandModule } from 'yargs'
import { execInContainer } from '../../run/exec-container.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { report } from '../report.js'

interface Args extends RootArgs { container: string, command?: string[], e?: string | string[], u?: string, w?: string, i?: boolean, t?: boolean, d?: boolean }

export const execCommand: CommandModule<object, Args> = {
  command: 'exec <container> [command..]',
  describe: 'Run a command in a running container',
  builder: (y) => withRoot(y
    .parserConfiguration({ 'populate--': true })
    .positional('container', { type: 'string', demandOption: true })
    .positional('command', { type: 'string', array: true })
    .option('e', { alias: 'env', type: 'string', describe: 'KEY=VALUE (or KEY, from this environment); repeatable' })
    .option('u', { alias: 'user', type: 'string', describe: 'user[:group] (names from the container)' })
    .option('w', { alias: 'workdir', type: 'string', describe: 'working directory inside the container' })
    .option('i', { alias: 'interactive', type: 'boolean', describe: 'keep stdin open' })
    .option('t', { alias: 'tty', type: 'boolean', describe: 'a pty of the container\'s as the command\'s terminal' })
    .example('$0 exec -it web /bin/sh', '')
    .example('$0 exec -u nobody -w /tmp web id', '')),
  handler: async (a) => {
    try {
      const store = openStore(a)
      const c = store.containers.get(a.container)
      const argv = [...(a.command ?? []), ...((a as { '--'?: string[] })['--'] ?? []).map(String)]
      process.exitCode = await execInContainer(store, c, { argv, env: a.e === undefined ? [] : [a.e].flat(), user: a.u, workdir: a.w, stdin: a.i || a.t ? 'inherit' : 'ignore', tty: a.t === true })
    } catch (err) {
      report(err)
      process.exitCode = 125
    }
  },
}
