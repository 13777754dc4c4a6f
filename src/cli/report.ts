// How the CLI prints a failure: one line naming the thing at fault and its
// errno code, never a stack trace unless STRATA_DEBUG=1 (then every error's
// stack follows, errno errors' included: base/errno-error.ts keeps them). An
// error that carries no errno code is a bug of strata's, said as such.
export function report (err: unknown): void {
  const e = err as { message?: string, code?: string, stack?: string }
  const expected = typeof e?.code === 'string'
  const msg = e?.message ?? String(err)
  const line = expected ? `${msg}${msg.includes(e.code!) ? '' : ` (${e.code})`}` : `internal error: ${msg} (STRATA_DEBUG=1 shows where)`
  process.stderr.write(`strata: ${line}\n`)
  if (process.env.STRATA_DEBUG && e?.stack) process.stderr.write(`${e.stack}\n`)
  process.exitCode = 1
}
