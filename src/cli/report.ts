// How the CLI prints a failure: one line naming the thing at fault and its
// errno code, never a stack trace unless STRATA_DEBUG=1 (then every error's
// stack follows, errno errors' included: base/errno-error.ts keeps them). An
// error that carries no errno code is a bug of strata's, said as such.
export function report (err: unknown): void {
  process.stderr.write(reportText(err))
  process.exitCode = 1
}

/** What report() prints for `err` (a spare writes it to its caller's stderr). */
export function reportText (err: unknown): string {
  const e = err as { message?: string, code?: string, stack?: string }
  const expected = typeof e?.code === 'string'
  const msg = e?.message ?? String(err)
  const line = expected ? `${msg}${msg.includes(e.code!) ? '' : ` (${e.code})`}` : `internal error: ${msg} (STRATA_DEBUG=1 shows where)`
  return `strata: ${line}\n${process.env.STRATA_DEBUG && e?.stack ? `${e.stack}\n` : ''}`
}
