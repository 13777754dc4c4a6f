// ENV and LABEL: key=value pairs (ENV also the legacy `KEY value` form),
// substituted, merged over the image's own.
import { errnoError } from '../../base/errno-error.js'
import { expandPairs } from '../expand-words.js'
import { type Handler, stageVars } from '../build-state.js'
import { metaStep, nop } from '../step-commit.js'

export const env: Handler = async (b, stage, ins) => {
  const pairs = expandPairs(ins.args, stageVars(stage), b.escape)
  for (const [k, x] of pairs) if (x === undefined || !k) throw errnoError('EINVAL', `ENV needs NAME=VALUE (or NAME VALUE), got "${k}"`)
  return metaStep(b, stage, nop(stage, `ENV ${pairs.map(([k, x]) => `${k}=${x}`).join(' ')}`), (c) => {
    const vars = new Map((c.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e]))
    for (const [k, x] of pairs) vars.set(k, `${k}=${x}`)
    c.Env = [...vars.values()]
  })
}

export const label: Handler = async (b, stage, ins) => {
  const pairs = expandPairs(ins.args, stageVars(stage), b.escape)
  for (const [k, x] of pairs) if (x === undefined || !k) throw errnoError('EINVAL', `LABEL needs key=value, got "${k}"`)
  const shown = pairs.map(([k, x]) => `${k}=${/[\s"]/.test(x!) || x === '' ? JSON.stringify(x) : x}`).join(' ')
  return metaStep(b, stage, nop(stage, `LABEL ${shown}`), (c) => { c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs) as Record<string, string> } })
}
