// The whole Dockerfile checked before any step runs, and cut into stages.
// Every instruction is known, takes only the options it supports, and has
// the shape it must (FROM [AS name], SHELL's JSON, HEALTHCHECK's options,
// an ONBUILD's trigger); stage names are unique; FROM and COPY --from name
// an earlier stage or an image in the store; the base images' own ONBUILD
// triggers parse; --target names a stage. So a typo in the last stage fails
// the build before the first one runs.
//
// Stages the target does not need (neither its base chain nor a COPY
// --from source, transitively) are skipped, as BuildKit skips them; docker's
// classic builder builds every stage up to the target, which costs time and
// makes a broken unused stage fail the build.
import { errnoError, withContext } from '../base/errno-error.js'
import type { Store } from '../store/store.js'
import { resolveImage } from '../image/resolve-image.js'
import { dockerfileError, parseInstruction, type Instruction } from './dockerfile-parser.js'
import { expandWords, type Vars } from './expand-words.js'
import { parseHealthcheck } from './instructions/healthcheck.js'
import { pairsOf } from './instructions/env.js'
import { argPairs } from './instructions/arg.js'
import { copyWords } from './instructions/copy.js'
import { exposedPorts, volumePaths } from './instructions/config-fields.js'

export interface StagePlan {
  index: number
  /** The AS name, lower-cased as docker compares them; null without one. */
  name: string | null
  from: Instruction
  /** What FROM names (meta ARGs substituted): 'scratch', a stage or an image. */
  base: string
  body: Instruction[]
  /** Earlier stages this one uses: its base and its COPY --from sources. */
  deps: number[]
}

export interface BuildPlan {
  /** ARGs before the first FROM. */
  metaArgs: Instruction[]
  stages: StagePlan[]
  /** The stages to build, in file order; the last is the target. */
  order: number[]
}

/** Options each instruction takes (anything else is refused). */
const OPTIONS: Record<string, readonly string[]> = {
  COPY: ['chown', 'chmod', 'from'],
  ADD: ['chown', 'chmod'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
}
/** Not allowed as an ONBUILD trigger, as docker says. */
const NOT_TRIGGERS = new Set(['ONBUILD', 'FROM', 'MAINTAINER'])
const STAGE_NAME = /^[a-z][a-z0-9_.-]*$/

/**
 * Every variable as "1": the shape of an instruction's words (how many,
 * which are KEY=VALUE, the quoting and ${…} syntax) does not depend on the
 * values, since docker splits words before it substitutes.
 */
class StandIn extends Map<string, string> {
  override get (): string { return '1' }
}
const STAND_IN = new StandIn()
/** The checks of instructions whose words can be wrong whatever the values. */
const WORDS: Record<string, (ins: Instruction, vars: Vars, escape: string) => unknown> = {
  ENV: pairsOf,
  LABEL: pairsOf,
  ARG: argPairs,
  COPY: copyWords,
  ADD: copyWords,
  EXPOSE: exposedPorts,
  VOLUME: volumePaths,
  WORKDIR: (ins, v, e) => expandWords(ins.args, v, e, false),
  USER: (ins, v, e) => expandWords(ins.args, v, e, false),
  STOPSIGNAL: (ins, v, e) => expandWords(ins.args, v, e, false),
}

/** Adds "FILE:LINE: " after the errno code unless the message has it. */
export function atLine (err: unknown, label: string, line: number): Error {
  // An error without an errno code is a bug of strata's: it goes up as it is.
  if (typeof (err as { code?: unknown } | null)?.code !== 'string') return err as Error
  const text = (err as Error).message.replace(/^E[A-Z0-9]+: /, '')
  return text.startsWith(`${label}:`) ? err as Error : withContext(err, `${label}:${line}`)
}

/** One instruction's own shape, whatever the build's state. */
export function checkInstruction (ins: Instruction, label: string, escape = '\\'): void {
  try { WORDS[ins.cmd]?.(ins, STAND_IN, escape) } catch (err) { throw atLine(err, label, ins.line) }
  for (const f of Object.keys(ins.flags)) {
    if (!(OPTIONS[ins.cmd] ?? []).includes(f)) {
      throw dockerfileError(label, ins.line, OPTIONS[ins.cmd] ? `${ins.cmd}: unknown option --${f}` : `${ins.cmd} --${f} is not supported`)
    }
  }
  switch (ins.cmd) {
    case 'SHELL':
      if (!ins.json?.length) throw dockerfileError(label, ins.line, 'SHELL requires the JSON form, e.g. SHELL ["/bin/bash", "-c"]')
      break
    case 'HEALTHCHECK':
      try { parseHealthcheck(ins) } catch (err) { throw atLine(err, label, ins.line) }
      break
    case 'ONBUILD': {
      const trigger = parseInstruction(ins.args, ins.line, label)
      if (NOT_TRIGGERS.has(trigger.cmd)) throw dockerfileError(label, ins.line, `${trigger.cmd} isn't allowed as an ONBUILD trigger`)
      checkInstruction(trigger, label, escape)
      break
    }
  }
}

/** An image's ONBUILD triggers, parsed; an error names the image. */
export function triggersOf (triggers: string[] | undefined, image: string, label: string, line: number): Instruction[] {
  return (triggers ?? []).map((text) => {
    try {
      const ins = parseInstruction(text, line, label)
      if (NOT_TRIGGERS.has(ins.cmd)) throw errnoError('EINVAL', `${ins.cmd} isn't allowed as an ONBUILD trigger`)
      checkInstruction(ins, label)
      return ins
    } catch (err) {
      throw atLine(errnoError('EINVAL', `ONBUILD trigger "${text}" of ${image}: ${(err as Error).message.replace(/^E[A-Z0-9]+: /, '')}`), label, line)
    }
  })
}

export function planBuild (store: Store, instructions: Instruction[], label: string, escape: string, meta: () => Vars, target?: string): BuildPlan {
  const metaArgs: Instruction[] = []
  const stages: StagePlan[] = []
  const byName = new Map<string, number>()
  let i = 0
  for (; i < instructions.length && instructions[i].cmd === 'ARG'; i++) metaArgs.push(instructions[i])
  if (i === instructions.length) throw errnoError('EINVAL', `${label}: no FROM (a Dockerfile needs at least one stage)`)
  if (instructions[i].cmd !== 'FROM') throw dockerfileError(label, instructions[i].line, `the first instruction (after ARGs) must be FROM, not ${instructions[i].cmd}`)
  for (const ins of instructions) checkInstruction(ins, label, escape)
  // The meta ARGs' values are known now: FROM lines may use them.
  const vars = meta()
  for (; i < instructions.length; i++) {
    const ins = instructions[i]
    if (ins.cmd !== 'FROM') { stages[stages.length - 1].body.push(ins); continue }
    let words: string[]
    try { words = expandWords(ins.args, vars, escape) } catch (err) { throw atLine(err, label, ins.line) }
    if (!(words.length === 1 || (words.length === 3 && words[1].toLowerCase() === 'as')) || !words[0]) throw dockerfileError(label, ins.line, 'FROM takes an image (and optionally AS name)')
    const name = words.length === 3 ? words[2].toLowerCase() : null
    if (name !== null) {
      if (!STAGE_NAME.test(name)) throw dockerfileError(label, ins.line, `invalid stage name "${words[2]}" (a letter, then letters, digits, "_", "-" or ".")`)
      if (byName.has(name)) throw dockerfileError(label, ins.line, `duplicate stage name "${words[2]}"`)
      byName.set(name, stages.length)
    }
    stages.push({ index: stages.length, name, from: ins, base: words[0], body: [], deps: [] })
  }
  /** An earlier stage a FROM or --from names, or null for an image. */
  const stageRef = (ref: string, at: StagePlan, line: number): number | null => {
    const n = /^\d+$/.test(ref) ? Number(ref) : byName.get(ref.toLowerCase())
    if (n === undefined) return null
    if (n >= at.index) throw dockerfileError(label, line, `stage "${ref}" is not defined before this line (a stage can use only earlier ones)`)
    return n
  }
  // FROM names a stage by its name only (FROM 0 is an image called 0).
  const baseStage = (s: StagePlan): number | null => byName.has(s.base.toLowerCase()) ? stageRef(s.base, s, s.from.line) : null
  for (const s of stages) {
    const b = baseStage(s)
    if (b !== null) s.deps.push(b)
    for (const ins of s.body) {
      if (ins.cmd !== 'COPY' || ins.flags.from === undefined) continue
      if (!ins.flags.from) throw dockerfileError(label, ins.line, 'COPY --from needs a stage name, a stage number or an image')
      const d = stageRef(ins.flags.from, s, ins.line)
      if (d !== null) s.deps.push(d)
    }
  }
  let last = stages.length - 1
  if (target !== undefined) {
    const t = byName.get(target.toLowerCase())
    if (t === undefined) throw errnoError('EINVAL', `--target ${target}: no stage of that name in ${label}${byName.size ? ` (stages: ${[...byName.keys()].join(', ')})` : ''}`)
    last = t
  }
  const needed = new Set<number>()
  const need = (n: number): void => {
    if (needed.has(n)) return
    needed.add(n)
    for (const d of stages[n].deps) need(d)
  }
  need(last)
  const order = [...needed].sort((a, b) => a - b)
  // What a needed stage takes from the store must be there, and its
  // base's triggers must parse, before anything runs.
  for (const n of order) {
    const s = stages[n]
    if (s.base !== 'scratch' && baseStage(s) === null) {
      try {
        const img = resolveImage(store, s.base)
        triggersOf(img.config.config?.OnBuild ?? undefined, s.base, label, s.from.line)
      } catch (err) { throw atLine(err, label, s.from.line) }
    }
    for (const ins of s.body) {
      if (ins.cmd === 'COPY' && ins.flags.from !== undefined && stageRef(ins.flags.from, s, ins.line) === null) {
        try { resolveImage(store, ins.flags.from) } catch (err) { throw atLine(err, label, ins.line) }
      }
    }
  }
  return { metaArgs, stages, order }
}
