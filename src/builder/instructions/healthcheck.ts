// HEALTHCHECK [--interval=D --timeout=D --start-period=D --start-interval=D
// --retries=N] CMD command | NONE, stored as docker stores it:
// config.Healthcheck { Test, Interval, Timeout, StartPeriod, StartInterval,
// Retries }, durations in nanoseconds, zero values left out, the shell form
// as ["CMD-SHELL", text], NONE as ["NONE"] (which turns off the base
// image's check). Durations are Go's (1m30s, 500ms), as docker parses them.
import { errnoError } from '../../base/errno-error.js'
import type { ContainerConfig } from '../../oci/oci-types.js'
import type { Instruction } from '../dockerfile-parser.js'
import { type Handler } from '../build-state.js'
import { metaStep, nop, argvText } from '../step-commit.js'

type Healthcheck = NonNullable<ContainerConfig['Healthcheck']>

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }

/** A Go duration ("1m30s", "1.5h", "250ms") in nanoseconds. */
export function parseDuration (text: string, what: string): number {
  if (text === '0') return 0
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y
  let ns = 0
  let at = 0
  while (at < text.length) {
    re.lastIndex = at
    const m = re.exec(text)
    if (!m) throw errnoError('EINVAL', `${what}: invalid duration "${text}" (e.g. 30s, 1m30s, 500ms)`)
    ns += Number(m[1]) * UNIT_NS[m[2]]
    at = re.lastIndex
  }
  if (!text) throw errnoError('EINVAL', `${what}: empty duration`)
  return Math.round(ns)
}

/** Go's spelling of a duration, as docker's history shows it: 1m30s, 500ms, 0s. */
export function formatDuration (ns: number): string {
  if (ns === 0) return '0s'
  if (ns < 1e9) {
    const [unit, n] = ns < 1e3 ? ['ns', 1] : ns < 1e6 ? ['µs', 1e3] : ['ms', 1e6]
    return `${+(ns / (n)).toFixed(6)}${unit}`
  }
  const h = Math.floor(ns / 3600e9)
  const m = Math.floor((ns % 3600e9) / 60e9)
  const s = +((ns % 60e9) / 1e9).toFixed(9)
  return h ? `${h}h${m}m${s}s` : m ? `${m}m${s}s` : `${s}s`
}

export function parseHealthcheck (ins: Instruction): Healthcheck {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(ins.args.trim())!
  const kind = m[1].toUpperCase()
  if (kind === 'NONE') {
    if (m[2] || Object.keys(ins.flags).length) throw errnoError('EINVAL', 'HEALTHCHECK NONE takes no arguments or options')
    return { Test: ['NONE'] }
  }
  if (kind !== 'CMD' || !m[2]) throw errnoError('EINVAL', 'HEALTHCHECK takes CMD command (or NONE)')
  let test: string[] = ['CMD-SHELL', m[2]]
  if (m[2].startsWith('[')) {
    let v: unknown
    try { v = JSON.parse(m[2]) } catch { v = undefined }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string') || !v.length) throw errnoError('EINVAL', `HEALTHCHECK CMD: malformed JSON array: ${m[2]}`)
    test = ['CMD', ...v]
  }
  const hc: Healthcheck = { Test: test }
  const durations: Array<[string, 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval']> = [['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval']]
  for (const [flag, field] of durations) {
    if (ins.flags[flag] === undefined) continue
    const ns = parseDuration(ins.flags[flag], `HEALTHCHECK --${flag}`)
    // As docker: a set duration must be at least 1ms.
    if (ns !== 0 && ns < 1e6) throw errnoError('EINVAL', `HEALTHCHECK --${flag} cannot be less than 1ms`)
    if (ns) hc[field] = ns
  }
  if (ins.flags.retries !== undefined) {
    if (!/^\d+$/.test(ins.flags.retries)) throw errnoError('EINVAL', `HEALTHCHECK --retries takes a whole number, not "${ins.flags.retries}"`)
    const n = Number(ins.flags.retries)
    if (n) hc.Retries = n
  }
  return hc
}

export const healthcheck: Handler = async (b, stage, ins) => {
  const hc = parseHealthcheck(ins)
  const d = (x?: number): string => JSON.stringify(formatDuration(x ?? 0))
  // docker's history prints the Go struct: &{[test] interval timeout start-period start-interval 'retries'}.
  const shown = hc.Test[0] === 'NONE' ? argvText(hc.Test) : `&{${argvText(hc.Test)} ${d(hc.Interval)} ${d(hc.Timeout)} ${d(hc.StartPeriod)} ${d(hc.StartInterval)} '\\x${(hc.Retries ?? 0).toString(16).padStart(2, '0')}'}`
  return metaStep(b, stage, nop(stage, `HEALTHCHECK ${shown}`), (c) => { c.Healthcheck = hc })
}
