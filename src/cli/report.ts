// How the CLI prints a failure: one line naming the thing at fault and its
// errno code, never a stack trace for an expected error.
export function report (err: unknown): void {
  const e = err as { message?: string, code?: string, stack?: string }
  const expected = typeof e?.code === 'string'
  const msg = e?.message ?? String(err)
  process.stderr.write(`strata: ${msg}${expected && !msg.includes(e.code!) ? ` (${e.code})` : ''}\n`)
  if (!expected && process.env.STRATA_DEBUG) process.stderr.write(`${e?.stack}\n`)
  process.exitCode = 1
}
