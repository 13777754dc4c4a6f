// A Dockerfile as a list of instructions, each with the line it starts on:
// parser directives (# escape=…) at the top, comment lines dropped (also in
// the middle of a continued instruction), lines ending in the escape
// character joined to the next, the keyword case-insensitive, leading
// --flag=value options split off, and the JSON exec form (["a", "b"]) told
// from the shell form. Variables are not substituted here: their values
// change as the build goes (see expand-words.ts). Errors name the file and
// line.
import { errnoError } from '../base/errno-error.js'

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY… */
  cmd: string
  /** Everything after the keyword and its flags, continuations joined. */
  args: string
  /** Exec form, when args is a JSON array of strings. */
  json: string[] | null
  /** Leading --name=value options (COPY --chown=…). */
  flags: Record<string, string>
  /** 1-based line the instruction starts on. */
  line: number
  /** The instruction as written (continuations joined), for messages. */
  original: string
}

export interface Dockerfile {
  instructions: Instruction[]
  /** The escape character (\ by default, ` with # escape=`). */
  escape: string
}

export const KNOWN: ReadonlySet<string> = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'ENV', 'ARG', 'WORKDIR', 'USER', 'LABEL', 'EXPOSE', 'VOLUME', 'CMD', 'ENTRYPOINT', 'MAINTAINER', 'STOPSIGNAL', 'SHELL', 'HEALTHCHECK', 'ONBUILD'])
/** Instructions whose argument may be a JSON array. */
const JSON_FORM = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'COPY', 'ADD', 'VOLUME', 'SHELL'])
/** Instructions that take --flag=value options before their arguments. */
const WITH_FLAGS = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'HEALTHCHECK'])

export function dockerfileError (file: string, line: number, msg: string): Error {
  return errnoError('EINVAL', `${file}:${line}: ${msg}`)
}

/**
 * JSON exec form, or null for the shell form. Text that starts like a JSON
 * array (`["` or `[]`) but is not one is an error rather than a shell
 * command, so a typo is not run as `/bin/sh -c '["/hello"'`.
 */
function execForm (args: string, file: string, line: number): string[] | null {
  const s = args.trim()
  if (!s.startsWith('[')) return null
  let v: unknown
  try { v = JSON.parse(s) } catch { v = undefined }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v
  if (/^\[\s*("|'|\])/.test(s)) throw dockerfileError(file, line, `malformed JSON array: ${s} (exec form is ["executable", "arg", …] with double quotes)`)
  return null
}

function splitFlags (args: string, file: string, line: number): { flags: Record<string, string>, rest: string } {
  const flags: Record<string, string> = {}
  let rest = args
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest); m; m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)) {
    if (m[2] === undefined) throw dockerfileError(file, line, `option --${m[1]} needs a value (--${m[1]}=…)`)
    flags[m[1]] = m[2]
    rest = rest.slice(m[0].length)
  }
  return { flags, rest }
}

export function parseDockerfile (text: string, file = 'Dockerfile'): Dockerfile {
  const lines = text.split(/\r?\n/)
  let escape = '\\'
  let i = 0
  // Directives: only before anything else, even a comment or a blank line.
  for (; i < lines.length; i++) {
    const m = /^#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$/.exec(lines[i])
    if (!m) break
    if (m[1].toLowerCase() === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw dockerfileError(file, i + 1, `invalid escape directive "${m[2]}" (\\ or \`)`)
      escape = m[2]
    }
  }
  const instructions: Instruction[] = []
  while (i < lines.length) {
    const start = i
    const first = lines[i]
    i++
    if (/^\s*(#|$)/.test(first)) continue
    let text = first.trimStart()
    // A line ending in the escape character goes on with the next one;
    // comments and blank lines in between are skipped, as docker does.
    while (text.trimEnd().endsWith(escape)) {
      text = text.trimEnd().slice(0, -1)
      while (i < lines.length && /^\s*(#|$)/.test(lines[i])) i++
      if (i >= lines.length) break
      text += lines[i]
      i++
    }
    instructions.push(parseInstruction(text, start + 1, file))
  }
  return { instructions, escape }
}

/**
 * One instruction, its continuations already joined: also how an ONBUILD
 * trigger (the text after ONBUILD, or one stored in an image) is read.
 */
export function parseInstruction (text: string, line: number, file = 'Dockerfile'): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text.trim())
  if (!m) throw dockerfileError(file, line, 'empty instruction')
  const cmd = m[1].toUpperCase()
  if (!KNOWN.has(cmd)) throw dockerfileError(file, line, `unknown instruction: ${m[1]}`)
  let args = m[2].trim()
  let flags: Record<string, string> = {}
  if (WITH_FLAGS.has(cmd)) ({ flags, rest: args } = splitFlags(args, file, line))
  if (args === '') throw dockerfileError(file, line, `${cmd} requires at least one argument`)
  const json = JSON_FORM.has(cmd) ? execForm(args, file, line) : null
  return { cmd, args, json, flags, line, original: `${cmd} ${m[2].trim()}`.trim() }
}
