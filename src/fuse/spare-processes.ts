// Finding and ending the spare mount daemons (cli/spare-main.ts) of one run
// dir: those waiting (their PID files under RUN/spares) and those still
// booting (a spare is started by a daemon as its mount settles or ends, and
// has no PID file for its first ~0.1 s). A booting spare is known by its
// command line (spare-main.js) and by STRATA_RUN_DIR=RUN in its environment,
// so only spares started for that run dir are matched: the bench and the
// tests, which give their strata commands a run dir of their own, end what
// they caused, by PID.
import fs from 'node:fs'
import path from 'node:path'

/**
 * True if `pid` runs cli/spare-main.js: a PID file left by a killed spare
 * may name a PID reused since, which must not be ended.
 */
function isSpare (pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.endsWith(`${path.sep}spare-main.js`))
  } catch {
    return false
  }
}

/** PIDs of the spares waiting in `runDir`. */
export function waitingSpares (runDir: string): number[] {
  let names: string[]
  try { names = fs.readdirSync(path.join(runDir, 'spares')) } catch { return [] }
  const pids: number[] = []
  for (const n of names.filter((x) => x.endsWith('.pid'))) {
    try {
      const pid = Number(fs.readFileSync(path.join(runDir, 'spares', n), 'utf8'))
      if (Number.isInteger(pid) && pid > 0 && isSpare(pid)) pids.push(pid)
    } catch { /* it left meanwhile */ }
  }
  return pids
}

/** PIDs of spares started with STRATA_RUN_DIR=runDir, waiting or booting. */
export function sparesOf (runDir: string): number[] {
  const pids = new Set(waitingSpares(runDir))
  const mark = `STRATA_RUN_DIR=${runDir}`
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue
    try {
      if (!isSpare(Number(p))) continue
      if (fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(mark)) pids.add(Number(p))
    } catch { /* exited, or not ours to read */ }
  }
  return [...pids]
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Ends the spares of `runDir`, including one a daemon starts while this
 * runs: done once none has been seen for `quietMs`.
 */
export async function endSpares (runDir: string, quietMs = 1000): Promise<void> {
  for (let quiet = 0; quiet < quietMs;) {
    const pids = sparesOf(runDir)
    quiet = pids.length ? 0 : quiet + 100
    for (const pid of pids) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
    await sleep(100)
  }
  fs.rmSync(path.join(runDir, 'spares'), { recursive: true, force: true })
}

/** Resolves true once a spare waits in `runDir`, false after `ms`. */
export async function spareWaiting (runDir: string, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (waitingSpares(runDir).length) return true
    await sleep(50)
  }
  return waitingSpares(runDir).length > 0
}
