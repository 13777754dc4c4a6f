// ENV and LABEL: key=value pairs (ENV also the legacy `KEY value` form),
// substituted, merged over the image's own.
import { errnoError } from '../../base/errno-error.js'
import { expandPairs } from '../expand-words.js'
import { type Handler, stageVars } from '../build-state.js'
import { metaStep, nop } from '../step-commit.js'
import type { Instruction } from '../dockerfile-parser.js'
import type { Vars } from '../expand-words.js'

/** ENV's or LABEL's pairs, substituted; the plan checks their shape with stand-in values. */
export function pairsOf (ins: Instruction, vars: Vars, escape: string): Array<[string, string]> {
  const pairs = expandPairs(ins.args, vars, escape)
  const need = ins.cmd === 'ENV' ? 'NAME=VALUE (or NAME VALUE)' : 'key=value'
  for (const [k, x] of pairs) if (x === undefined || !k) throw errnoError('EINVAL', `${ins.cmd} needs ${need}, got "${k}"`)
  return pairs as Array<[string, string]>
}

export const env: Handler = async (b, stage, ins) => {
  const pairs = pairsOf(ins, stageVars(stage), b.escape)
  return metaStep(b, stage, nop(stage, `ENV ${pairs.map(([k, x]) => `${k}=${x}`).join(' ')}`), (c) => {
    const vars = new Map((c.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e]))
    for (const [k, x] of pairs) vars.set(k, `${k}=${x}`)
    c.Env = [...vars.values()]
  })
}

export const label: Handler = async (b, stage, ins) => {
  const pairs = pairsOf(ins, stageVars(stage), b.escape)
  const shown = pairs.map(([k, x]) => `${k}=${/[\s"]/.test(x) || x === '' ? JSON.stringify(x) : x}`).join(' ')
  return metaStep(b, stage, nop(stage, `LABEL ${shown}`), (c) => { c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs) } })
}
