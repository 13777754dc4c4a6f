// strata bench: overlay performance against kernel overlayfs and fuse-overlayfs.
import type { CommandModule } from 'yargs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { spawn } from 'node:child_process'

export const benchCommand: CommandModule<object, object> = {
  command: 'bench',
  describe: 'Benchmark strata against kernel overlayfs and fuse-overlayfs (a table and an SVG chart); see scripts/bench --help',
  builder: (y) => y.strict(false).example('$0 bench --runs 3', ''),
  handler: async () => {
    // The benchmark is its own program (scripts/bench); pass our arguments on.
    const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'main.js')
    const args = process.argv.slice(process.argv.indexOf('bench') + 1)
    const child = spawn(process.execPath, [main, ...args], { stdio: 'inherit' })
    process.exitCode = await new Promise<number>((resolve) => child.on('exit', (c) => { resolve(c ?? 1) }))
  },
}
