// How the CLI prints a failure: one line naming the thing at fault and its
// errno code, never a stack trace (STRATA_DEBUG=1 adds it for an error
// that carries no errno code, which is a bug of strata's, said as such).
export function report (err: unknown): void {
  const e = err as { message?: string, code?: string, stack?: string }
  const expected = typeof e?.code === 'string'
  const msg = e?.message ?? String(err)
  const line = expected ? `${msg}${msg.includes(e.code!) ? '' : ` (${e.code})`}` : `internal error: ${msg} (STRATA_DEBUG=1 shows where)`
  process.stderr.write(`strata: ${line}\n`)
  if (!expected && process.env.STRATA_DEBUG) process.stderr.write(`${e?.stack}\n`)
  process.exitCode = 1
}
