// Pausing a mount's writes while another process reads its upper dir (a
// consistent commit, like docker commit --pause). The requester writes its
// PID to <record>.pause and sends SIGUSR1; the daemon stops new changes,
// waits for those under way, and answers by creating <record>.paused. SIGUSR2
// (or the requester's death) lets changes go again.
import fs from 'node:fs'
import { native } from '../native/binding.js'
import { errnoError } from '../base/errno-error.js'
import { readRecord, recordPath } from './mount-daemon.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true } catch { return false }
}

/** Daemon side: answers pause requests for `mountpoint` until the returned stop(). */
export function servePauseRequests (mountpoint: string): () => void {
  const base = recordPath(mountpoint)
  let watch: NodeJS.Timeout | null = null
  const resume = (): void => {
    native.fusePause(false)
    if (watch) clearInterval(watch)
    watch = null
    fs.rmSync(`${base}.paused`, { force: true })
  }
  const pause = async (): Promise<void> => {
    let requester = 0
    try { requester = Number(fs.readFileSync(`${base}.pause`, 'utf8')) } catch { return }
    native.fusePause(true)
    while (native.fuseInflight() > 0) await sleep(5)
    fs.writeFileSync(`${base}.paused`, String(process.pid))
    // Never stay paused for a requester that went away.
    watch = setInterval(() => { if (!alive(requester)) resume() }, 200)
  }
  const onPause = (): void => { pause().catch(() => { resume() }) }
  process.on('SIGUSR1', onPause)
  process.on('SIGUSR2', resume)
  return () => {
    process.off('SIGUSR1', onPause)
    process.off('SIGUSR2', resume)
    resume()
  }
}

/** Requester side: runs `fn` while the strata mount at `mountpoint` holds all changes. */
export async function withMountPaused<T> (mountpoint: string, fn: () => Promise<T>): Promise<T> {
  const rec = readRecord(mountpoint)
  if (!rec) throw errnoError('ENOENT', `no strata daemon record for ${mountpoint}`)
  const base = recordPath(mountpoint)
  fs.writeFileSync(`${base}.pause`, String(process.pid))
  process.kill(rec.pid, 'SIGUSR1')
  try {
    for (let i = 0; !fs.existsSync(`${base}.paused`); i++) {
      if (i > 600) throw errnoError('ETIMEDOUT', `the mount on ${mountpoint} did not pause its writes within 30 s`)
      await sleep(50)
    }
    return await fn()
  } finally {
    try { process.kill(rec.pid, 'SIGUSR2') } catch { /* gone */ }
    fs.rmSync(`${base}.pause`, { force: true })
  }
}
