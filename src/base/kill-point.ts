// Named crash points for the kill-point tests: with
// STRATA_TEST_KILL_AT=<point>:<n> the process SIGKILLs itself the n-th time
// it passes <point> (counted from 1), so a test can stop a command at a
// chosen step of its progress instead of guessing with sleeps. Unset, a
// point costs one comparison. STRATA_TEST_FAIL_AT=<point>:<n> makes the
// n-th pass of a fail point throw EIO instead, for failures no real input
// can cause any more (a step kept defensive after its checks moved earlier).
import { errnoError } from './errno-error.js'

function pointOf (spec: string | undefined): { target: string | null, left: number } {
  const m = spec ? /^([a-z0-9-]+):(\d+)$/.exec(spec) : null
  return { target: m ? m[1] : null, left: m ? Number(m[2]) : 0 }
}
const kill = pointOf(process.env.STRATA_TEST_KILL_AT)
const fail = pointOf(process.env.STRATA_TEST_FAIL_AT)

export function killPoint (name: string): void {
  if (name !== kill.target) return
  if (--kill.left === 0) process.kill(process.pid, 'SIGKILL')
}

export function failPoint (name: string): void {
  if (name !== fail.target) return
  if (--fail.left === 0) throw errnoError('EIO', `failed at ${name} (STRATA_TEST_FAIL_AT)`)
}
