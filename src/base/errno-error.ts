// Errors for every layer of strata: each failure carries an errno `code` (and
// the negative `errno`, as node:fs does) so the FUSE adapter can answer the
// kernel and the CLI can print a message and an exit status without guessing.
// The bottom of the import graph: it imports nothing of strata's.
import os from 'node:os'

export interface ErrnoError extends Error {
  code: string
  errno: number
}

/**
 * An errno error is an answer (ENOENT, ENODATA …), often on a hot path, not a
 * bug: it is made without capturing a stack trace.
 */
export function errnoError (code: string, message: string): ErrnoError {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  const e = new Error(`${code}: ${message}`) as ErrnoError
  Error.stackTraceLimit = limit
  e.code = code
  e.errno = -((os.constants.errno as Record<string, number>)[code] ?? 5)
  return e
}

/** The positive errno number for an error, or 0 when it carries none. */
export function errnoOf (err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return 0
  return (os.constants.errno as Record<string, number>)[code] ?? 0
}
