// ARG name[=default] …: a variable a --build-arg may set. Inside a stage it
// is a config-only step (docker records it in the history); before the
// first FROM it is a meta ARG, for FROM lines and for a later `ARG name`
// without a default to take up (metaArg, run by the driver).
import { errnoError } from '../../base/errno-error.js'
import { expandPairs, type Vars } from '../expand-words.js'
import { type Build, type Handler, metaVars, stageVars } from '../build-state.js'
import { metaStep, nop } from '../step-commit.js'
import type { Instruction } from '../dockerfile-parser.js'

/** ARG's names and defaults, substituted; the plan checks the names with stand-in values. */
export function argPairs (ins: Instruction, vars: Vars, escape: string): Array<[string, string | undefined]> {
  const pairs = expandPairs(ins.args, vars, escape, false)
  for (const [k] of pairs) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw errnoError('EINVAL', `ARG: bad name "${k}"`)
  return pairs
}

function declared (b: Build, ins: Instruction, vars: Vars): Array<[string, string | undefined]> {
  const pairs = argPairs(ins, vars, b.escape)
  for (const [k] of pairs) if (b.buildArgs.has(k)) b.consumed.add(k)
  return pairs
}

/** An ARG before the first FROM. */
export function metaArg (b: Build, ins: Instruction): void {
  for (const [k, def] of declared(b, ins, metaVars(b))) b.metaArgs.set(k, b.buildArgs.get(k) ?? def)
}

export const arg: Handler = async (b, stage, ins) => {
  const pairs = declared(b, ins, stageVars(stage))
  const args = new Map(stage.args)
  for (const [k, def] of pairs) args.set(k, b.buildArgs.get(k) ?? def ?? b.metaArgs.get(k))
  return metaStep(b, { ...stage, args }, nop(stage, `ARG ${pairs.map(([k, d]) => (d === undefined ? k : `${k}=${d}`)).join(' ')}`), () => {})
}
