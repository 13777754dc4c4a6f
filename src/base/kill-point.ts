// Named crash points for the kill-point tests: with
// STRATA_TEST_KILL_AT=<point>:<n> the process SIGKILLs itself the n-th time
// it passes <point> (counted from 1), so a test can stop a command at a
// chosen step of its progress instead of guessing with sleeps. Unset, a
// point costs one comparison.
const spec = process.env.STRATA_TEST_KILL_AT
const m = spec ? /^([a-z0-9-]+):(\d+)$/.exec(spec) : null
const target = m ? m[1] : null
let left = m ? Number(m[2]) : 0

export function killPoint (name: string): void {
  if (name !== target) return
  if (--left === 0) process.kill(process.pid, 'SIGKILL')
}
