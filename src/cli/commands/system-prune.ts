// strata system prune (docker system prune): removes the containers that
// are not mounted, dangling images (-a: every image no container is left
// using), the build cache, and whatever blobs and layers that frees. As
// docker, it asks first unless -f; any answer but y/yes (an empty stdin
// too) leaves the store as it was.
import readline from 'node:readline'
import type { CommandModule } from 'yargs'
import { mountedAt } from '../../fuse/mount-daemon.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { printPruned } from './image-rm.js'
import { pruneImages } from '../../image/remove-image.js'
import { du } from './system-df.js'

interface Args extends RootArgs { a?: boolean, f?: boolean }

async function confirm (question: string): Promise<boolean> {
  process.stderr.write(question)
  const rl = readline.createInterface({ input: process.stdin, terminal: false })
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve)
    rl.once('close', () => { resolve('') })
  })
  rl.close()
  if (!process.stdin.isTTY) process.stderr.write('\n')
  return /^y(es)?$/i.test(answer.trim())
}

export const systemPruneCommand: CommandModule<object, Args> = {
  command: 'prune',
  describe: 'Remove unmounted containers, dangling images (-a: all unused) and the build cache',
  builder: (y) => withRoot(y
    .option('a', { alias: 'all', type: 'boolean', describe: 'remove every image no container uses, not only dangling ones' })
    .option('f', { alias: 'force', type: 'boolean', describe: 'do not ask' })
    .example('$0 system prune -f', '')
    .example('$0 system prune -a -f', 'everything that nothing mounted uses')),
  handler: async (a) => {
    const what = ['all containers that are not mounted', a.a ? 'all images without at least one container using them' : 'all dangling images', 'the build cache']
    if (!a.f && !await confirm(`WARNING! This will remove:\n${what.map((w) => `  - ${w}\n`).join('')}\nAre you sure you want to continue? [y/N] `)) {
      process.stdout.write('Nothing removed\n')
      return
    }
    const store = openStore(a)
    const r = await store.locked(() => {
      const removed: string[] = []
      let bytes = 0
      for (const c of store.containers.list()) {
        if (mountedAt(store.containers.upper(c))) continue
        bytes += du(store.containers.upper(c))
        store.containers.remove(c)
        removed.push(c.id)
      }
      const images = pruneImages(store, { all: a.a })
      return { removed, images: images.images, bytes: bytes + images.bytes }
    })
    if (r.removed.length) process.stdout.write(`Deleted Containers:\n${r.removed.map((id) => id + '\n').join('')}\n`)
    printPruned(r.images, r.bytes)
  },
}
