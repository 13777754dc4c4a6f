// One strata command at a time changes a store: an exclusive flock on
// <root>/lock for the whole change. A waiting command says whom it waits for.
import fs from 'node:fs'
import path from 'node:path'
import { native, C } from '../native/binding.js'
import { errnoError } from '../base/errno-error.js'

export async function withStoreLock<T> (root: string, fn: () => Promise<T> | T, opts: { timeoutMs?: number, log?: (m: string) => void } = {}): Promise<T> {
  const file = path.join(root, 'lock')
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600)
  try {
    const deadline = Date.now() + (opts.timeoutMs ?? 120000)
    let told = false
    while (!native.flock(fd, C.LOCK_EX | C.LOCK_NB)) {
      const holder = fs.readFileSync(file, 'utf8').trim() || 'another strata command'
      if (Date.now() > deadline) throw errnoError('EBUSY', `the store ${root} is locked by ${holder}; gave up waiting`)
      if (!told) (opts.log ?? ((m) => process.stderr.write(m + '\n')))(`strata: waiting for the store lock held by ${holder}`)
      told = true
      await new Promise((r) => setTimeout(r, 100))
    }
    fs.ftruncateSync(fd, 0)
    fs.writeSync(fd, `pid ${process.pid} (${process.argv.slice(2, 4).join(' ')})`, 0)
    try {
      return await fn()
    } finally {
      fs.ftruncateSync(fd, 0)
      native.flock(fd, C.LOCK_UN)
    }
  } finally {
    fs.closeSync(fd)
  }
}
