// strata system check: verify (and --repair) the store. Output a script can
// read: one line per problem, "problem|repaired <kind> <name>: <message>"
// ("notice" for what is no problem: a lazily pulled layer not yet complete),
// or --json; exit 0 when the store is consistent (or everything found was
// repaired), 1 when problems are left.
import type { CommandModule } from 'yargs'
import { checkStore } from '../../image/check-store.js'
import { repairContainers } from '../../run/container-reconcile.js'
import { Store, defaultRoot } from '../../store/store.js'
import { withRoot, type RootArgs } from '../store-option.js'
import { systemDfCommand } from './system-df.js'
import { systemPruneCommand } from './system-prune.js'

interface Args extends RootArgs { repair?: boolean, deep?: boolean, json?: boolean }

const check: CommandModule<object, Args> = {
  command: 'check',
  describe: 'Check the whole store: blobs re-hashed, images, layer dirs, orphans, containers, leftovers of dead commands; --repair fixes what it can',
  builder: (y) => withRoot(y
    .option('repair', { type: 'boolean', describe: 'fix what can be fixed (remove leftovers and orphans, extract layers again)' })
    .option('deep', { type: 'boolean', describe: 'also compare every layer dir with a fresh extraction of its blob' })
    .option('json', { type: 'boolean', describe: 'print the problems as a JSON array' })
    .example('$0 system check --repair', 'fix what a crash left')
    .example('$0 system check --deep --json', 'compare every layer with its blob, machine-readable')),
  handler: async (a) => {
    // Not swept on open: the leftovers of dead commands are part of the report.
    const store = new Store(a.root ?? defaultRoot(), { sweep: false })
    // Containers whose owner died (client, supervisor) and mounts of dead runs first: the check then sees their final state.
    const reconciled = a.repair ? await repairContainers(store) : []
    const problems = [
      ...reconciled.map((name) => ({ kind: 'container', name, what: 'running, but its owner process died: marked exited, its mount and processes cleaned up', repaired: true })),
      ...await store.locked(() => checkStore(store, { repair: a.repair ?? false, deep: a.deep ?? false })),
    ]
    const notice = (p: typeof problems[number]): boolean => 'notice' in p && p.notice === true
    const left = problems.filter((p) => !p.repaired && !notice(p)).length
    if (a.json) process.stdout.write(JSON.stringify(problems, null, 2) + '\n')
    else {
      for (const p of problems) process.stdout.write(`${p.repaired ? 'repaired' : notice(p) ? 'notice' : 'problem'} ${p.kind} ${p.name}: ${p.what}\n`)
      process.stdout.write(left ? `${left} problem(s) left\n` : problems.some((p) => p.repaired) ? 'store is consistent after repair\n' : 'store is consistent\n')
    }
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
