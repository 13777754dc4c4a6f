// strata diff: A/C/D changes of a container against its image.
import type { CommandModule } from 'yargs'
import { containerDiff } from '../../image/container-diff.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'

interface Args extends RootArgs { container: string, format?: string }

export const diffCommand: CommandModule<object, Args> = {
  command: 'diff <container>',
  describe: "Show a container's changes against its image (A added, C changed, D deleted)",
  builder: (y) => withRoot(y.positional('container', { type: 'string', demandOption: true })
    .option('format', { type: 'string', choices: ['table', 'json'], default: 'table' })
    .example('$0 diff web', '')),
  handler: (a) => {
    const store = openStore(a)
    const changes = containerDiff(store, store.containers.get(a.container))
    if (a.format === 'json') process.stdout.write(JSON.stringify(changes, null, 2) + '\n')
    else process.stdout.write(changes.map((c) => `${c.kind} ${c.path}\n`).join(''))
  },
}
