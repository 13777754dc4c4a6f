// strata system check: verify (and --repair) the store.
import type { CommandModule } from 'yargs'
import { checkStore } from '../../image/check-store.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { systemDfCommand } from './system-df.js'
import { systemPruneCommand } from './system-prune.js'

interface Args extends RootArgs { repair?: boolean }

const check: CommandModule<object, Args> = {
  command: 'check',
  describe: 'Re-hash every blob and check every image; --repair fixes what it can',
  builder: (y) => withRoot(y.option('repair', { type: 'boolean' }).example('$0 system check --repair', '')),
  handler: async (a) => {
    const store = openStore(a)
    const problems = await store.locked(() => checkStore(store, a.repair ?? false))
    for (const p of problems) process.stdout.write(`${p.repaired ? 'repaired' : 'problem'}: ${p.what}\n`)
    const left = problems.filter((p) => !p.repaired).length
    process.stdout.write(left ? `${left} problem(s) left\n` : 'store is consistent\n')
    if (left) process.exitCode = 1
  },
}

export const systemCommand: CommandModule = {
  command: 'system <command>',
  describe: 'Store maintenance',
  builder: (y) => y.command(check as CommandModule).command(systemDfCommand as CommandModule).command(systemPruneCommand as CommandModule).demandCommand(1, 'name a system command')
    .example('$0 system df', ''),
  handler: () => {},
}
