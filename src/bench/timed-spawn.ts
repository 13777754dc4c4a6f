// Runs one command as a child process and returns its wall time in seconds.
// Every command the bench runs, timed or not, goes through here, so that:
// - each child gets its own process group, and a timeout or an abort kills
//   that group (only processes we started) with SIGKILL;
// - stderr goes to a log file, never a pipe: a daemon that inherits a pipe
//   (a FUSE server started by a mount command) would hold it open forever;
// - the clock stops at the child's exit, not when its output drains.

import { spawn } from 'node:child_process'
import { open, readFile } from 'node:fs/promises'

export interface SpawnOptions {
  /** stderr of the child is appended here; its new part is quoted on failure */
  log: string;
  cwd?: string;
  /** the child's environment (default: ours) */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function timedSpawn (argv: readonly string[], opts: SpawnOptions): Promise<number> {
  opts.signal?.throwIfAborted()
  const log = await open(opts.log, 'a')
  const logStart = (await log.stat()).size
  let failure: string
  let seconds: number
  try {
    const t0 = process.hrtime.bigint()
    const child = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'ignore', log.fd],
      detached: true,
    })
    let timedOut = false
    const kill = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        /* already gone */
      }
    }
    const timer = setTimeout(() => {
      timedOut = true
      kill()
    }, opts.timeoutMs ?? 900_000)
    opts.signal?.addEventListener('abort', kill, { once: true })
    failure = await new Promise<string>((resolve) => {
      child.once('error', (err) => { resolve(err.message) })
      child.once('exit', (code, signal) => {
        if (timedOut) resolve(`timed out after ${opts.timeoutMs} ms`)
        else resolve(code === 0 ? '' : code !== null ? `exit ${code}` : `killed by ${signal}`)
      })
    })
    seconds = Number(process.hrtime.bigint() - t0) / 1e9
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', kill)
  } finally {
    await log.close()
  }
  opts.signal?.throwIfAborted()
  if (failure) {
    const tail = (await readFile(opts.log)).subarray(logStart).toString().trim().slice(-400)
    throw new Error(`${argv.join(' ')}: ${failure}${tail ? `: ${tail}` : ''}`)
  }
  return seconds
}
