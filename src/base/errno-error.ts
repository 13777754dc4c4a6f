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
 * Stacks are for developers: with STRATA_DEBUG set every errno error keeps
 * the stack of where it was made (the CLI prints it then); otherwise none is
 * captured, since an errno error is usually an answer (ENOENT, ENODATA …) on
 * a hot path, not a bug, and a user is shown the message alone.
 */
const keepStacks = !!process.env.STRATA_DEBUG

/** An error whose message is `CODE: message`; `cause` is kept for a developer to follow. */
export function errnoError (code: string, message: string, cause?: unknown): ErrnoError {
  const limit = Error.stackTraceLimit
  if (!keepStacks) Error.stackTraceLimit = 0
  const e = new Error(`${code}: ${message}`, cause === undefined ? undefined : { cause }) as ErrnoError
  Error.stackTraceLimit = limit
  e.code = code
  e.errno = -((os.constants.errno as Record<string, number>)[code] ?? 5)
  return e
}

/**
 * An errno error from a message that already starts with its code (one a
 * child process reported, say "EBUSY: …"); EIO when it names none.
 */
export function errnoErrorOf (message: string): ErrnoError {
  const m = /^(E[A-Z0-9]+): ([\s\S]*)$/.exec(message)
  return m ? errnoError(m[1], m[2]) : errnoError('EIO', message)
}

/**
 * The same failure said with more context in front ("Dockerfile:3: …"): a
 * new error with the code of `err` (EIO if it had none), `err` as its cause.
 */
export function withContext (err: unknown, context: string): ErrnoError {
  const e = err as { code?: unknown, message?: string }
  const code = typeof e?.code === 'string' ? e.code : 'EIO'
  const text = (e?.message ?? String(err)).replace(new RegExp(`^${code}: `), '')
  return errnoError(code, `${context}: ${text}`, err)
}

/** The positive errno number for an error, or 0 when it carries none. */
export function errnoOf (err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return 0
  return (os.constants.errno as Record<string, number>)[code] ?? 0
}
