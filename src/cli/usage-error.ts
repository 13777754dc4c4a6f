// A command line that does not parse: yargs's message said as docker says
// it, and how the CLI reports it. Exit status 125, docker's for its own
// errors (a bad flag, a missing argument), so a script can tell "strata did
// not understand" from "the command ran and failed" (1) or from the
// container's own status in `run`. A usage error is found before any handler
// runs, so nothing has changed when it is reported.

export const USAGE_STATUS = 125

export class UsageError extends Error {
  constructor (message: string, readonly commandPath: string) {
    super(message)
  }
}

/** The words of `argv` that name the command (`image rm`), for "See 'strata image rm --help'". */
export function commandPathOf (argv: string[], isGroup: (word: string) => boolean): string {
  const words: string[] = []
  for (const a of argv) {
    if (a === '--' || a.startsWith('-')) break
    words.push(a)
    if (words.length === 2 || !isGroup(a)) break
  }
  return words.join(' ')
}

/** The token the user typed for an option yargs calls `name` (it strips dashes and "no-"). */
function typedFlag (argv: string[], name: string): string | undefined {
  const candidates = name.length === 1 ? [`-${name}`] : [`--${name}`, `--no-${name}`]
  for (const a of argv) {
    if (a === '--') break
    const flag = a.split('=')[0]
    if (candidates.includes(flag)) return flag
    // A short flag inside a bundle (-qx).
    if (name.length === 1 && /^-[a-zA-Z]{2,}$/.test(a) && a.includes(name)) return `-${name}`
  }
  return undefined
}

/** yargs's failure message in docker's words, and the command whose --help to see. */
export function dockerMessage (msg: string, argv: string[], commandPath: string): { message: string, commandPath: string } {
  const words = commandPath ? commandPath.split(' ') : []
  // An unknown command word: the help to see is the one of the command above it.
  const notCommand = (word: string): { message: string, commandPath: string } => {
    const above = words.slice(0, Math.max(0, words.indexOf(word)))
    return { message: `'${word}' is not a ${['strata', ...above].join(' ')} command`, commandPath: above.join(' ') }
  }
  const suggested = /^Did you mean (.*)\?$/.exec(msg)
  const last = words[words.length - 1]
  if (suggested && last) {
    const r = notCommand(last)
    return { ...r, message: `${r.message} (did you mean ${suggested[1]}?)` }
  }
  const m = /^Unknown arguments?: (.*)$/s.exec(msg)
  if (m) {
    const first = m[1].split(', ')[0]
    const flag = typedFlag(argv, first)
    if (flag) return { message: `unknown flag: ${flag}`, commandPath }
    if (words.includes(first)) return notCommand(first)
    return { message: `"strata${commandPath ? ' ' + commandPath : ''}" got an unexpected argument: ${first}`, commandPath }
  }
  return { message: usageMessage(msg, argv, commandPath), commandPath }
}

function usageMessage (msg: string, argv: string[], commandPath: string): string {
  const cmd = `"strata${commandPath ? ' ' + commandPath : ''}"`
  let m: RegExpExecArray | null
  if ((m = /^Not enough non-option arguments: got (\d+), need at least (\d+)/.exec(msg))) {
    return `${cmd} requires at least ${m[2]} argument${m[2] === '1' ? '' : 's'}`
  }
  if ((m = /^Too many non-option arguments: got (\d+), maximum of (\d+)/.exec(msg))) {
    return `${cmd} accepts at most ${m[2]} argument${m[2] === '1' ? '' : 's'}`
  }
  if ((m = /^Invalid values:\s+Argument: (\S+), Given: (.*), Choices: (.*)$/s.exec(msg))) {
    return `invalid argument ${m[2]} for "${typedFlag(argv, m[1]) ?? '--' + m[1]}" flag: expected one of ${m[3]}`
  }
  if ((m = /^Missing required arguments?: (.*)$/s.exec(msg))) return `${cmd} requires ${m[1]}`
  if ((m = /^Not enough arguments following: (.*)$/s.exec(msg))) {
    return `flag needs an argument: ${typedFlag(argv, m[1]) ?? '--' + m[1]}`
  }
  return msg.replace(/\n+/g, '; ')
}

export function reportUsage (err: UsageError): void {
  const see = `strata${err.commandPath ? ' ' + err.commandPath : ''} --help`
  process.stderr.write(`strata: ${err.message}\nSee '${see}'.\n`)
  process.exitCode = USAGE_STATUS
}
