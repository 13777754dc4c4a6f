// `strata image build`: runs a Dockerfile (dockerfile-parser.ts) step by
// step with docker's classic output. The whole file is checked and cut into
// stages first (build-plan.ts), so nothing runs when any line is wrong; the
// stages the target needs are then built in file order, each finished one
// kept by index and name for FROM and COPY --from. Every step but FROM makes
// an image (step-commit.ts); each instruction has its handler
// (instructions/), which takes the stage so far and returns the next
// (build-state.ts). A base image's ONBUILD triggers run right after its
// FROM. The step cache (store/build-cache.ts) refers to intermediate
// images, which are not in the index; only the target stage's result is
// tagged (or listed as <none>).
import fs from 'node:fs'
import path from 'node:path'
import type { Store } from '../store/store.js'
import { errnoError } from '../base/errno-error.js'
import { loadImage, manifestDescriptor } from '../image/resolve-image.js'
import { parseReference } from '../image/reference.js'
import { parseDockerfile, type Instruction } from './dockerfile-parser.js'
import { BuildContext } from './build-context.js'
import { type Build, type Stage, scratchStage, short } from './build-state.js'
import { planBuild, atLine, triggersOf } from './build-plan.js'
import { HANDLERS } from './instructions/handlers.js'
import { metaArg } from './instructions/arg.js'
import { RunFailed } from './instructions/run.js'

export { RunFailed }

export interface BuildOptions {
  /** The context directory. */
  context: string
  /** Default: <context>/Dockerfile. */
  dockerfile?: string
  /** The Dockerfile's text itself (`-f -`); dockerfile then only names it. */
  dockerfileText?: string
  /** The stage to build (--target); default the last. */
  target?: string
  tags?: string[]
  buildArgs?: Record<string, string>
  noCache?: boolean
  /** Progress lines (Step …, ---> …), without their newline. */
  log?: (line: string) => void
  /** What RUN commands print (default: our stdout and stderr). */
  output?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void
}

export interface BuildResult {
  /** The image ID (config digest). */
  id: string
  manifest: string
  tags: string[]
}

/** Runs one instruction; an error names its line (a failed RUN's status stays its own). */
async function step (b: Build, stage: Stage, ins: Instruction): Promise<Stage> {
  try {
    return await HANDLERS[ins.cmd](b, stage, ins)
  } catch (err) {
    if (err instanceof RunFailed) throw err
    throw atLine(err, b.label, ins.line)
  }
}

/** The base image's ONBUILD triggers, run as steps; the result keeps none of them. */
async function runTriggers (b: Build, stage: Stage, from: Instruction, base: string): Promise<Stage> {
  const triggers = triggersOf(stage.config.config?.OnBuild ?? undefined, base, b.label, from.line)
  if (!triggers.length) return stage
  b.log(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}`)
  const config = structuredClone(stage.config)
  delete config.config!.OnBuild
  let s: Stage = { ...stage, config }
  for (const ins of triggers) s = await step(b, s, ins)
  return s
}

export async function buildImage (store: Store, opts: BuildOptions): Promise<BuildResult> {
  const ctx = new BuildContext(opts.context)
  const dockerfile = opts.dockerfile ?? path.join(opts.context, 'Dockerfile')
  const label = path.basename(dockerfile)
  let text = opts.dockerfileText
  if (text === undefined) {
    try {
      text = fs.readFileSync(dockerfile, 'utf8')
    } catch (err) {
      throw errnoError((err as NodeJS.ErrnoException).code ?? 'EIO', `cannot read the Dockerfile ${dockerfile}: ${(err as Error).message}`)
    }
  }
  const { instructions, escape } = parseDockerfile(text, label)
  if (!instructions.length) throw errnoError('EINVAL', `${label}: no instructions (is the Dockerfile empty?)`)
  const tags = (opts.tags ?? []).map((t) => parseReference(t).name)
  const b: Build = {
    store,
    ctx,
    label,
    escape,
    noCache: opts.noCache ?? false,
    log: opts.log ?? (() => {}),
    output: opts.output ?? ((d, s) => (s === 'stdout' ? process.stdout : process.stderr).write(d)),
    buildArgs: new Map(Object.entries(opts.buildArgs ?? {})),
    consumed: new Set(),
    metaArgs: new Map(),
    stages: new Map(),
  }
  const plan = planBuild(store, instructions, label, escape, () => {
    for (const ins of instructions) {
      if (ins.cmd !== 'ARG') break
      try { metaArg(b, ins) } catch (err) { throw atLine(err, label, ins.line) }
    }
    return new Map([...b.metaArgs].filter((e): e is [string, string] => e[1] !== undefined))
  }, opts.target)

  const total = plan.metaArgs.length + plan.order.reduce((n, i) => n + 1 + plan.stages[i].body.length, 0)
  let n = 0
  for (const ins of plan.metaArgs) b.log(`Step ${++n}/${total} : ${ins.original}`)
  let stage: Stage | null = null
  for (const i of plan.order) {
    const s = plan.stages[i]
    b.log(`Step ${++n}/${total} : ${s.from.original}`)
    stage = await runTriggers(b, await step(b, scratchStage(), s.from), s.from, s.base)
    for (const ins of s.body) {
      b.log(`Step ${++n}/${total} : ${ins.original}`)
      stage = await step(b, stage, ins)
    }
    b.stages.set(String(i), stage)
    if (s.name) b.stages.set(s.name, stage)
  }
  const unused = [...b.buildArgs.keys()].filter((k) => !b.consumed.has(k))
  if (unused.length) b.log(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`)
  if (!stage?.manifest || !stage.id) throw errnoError('EINVAL', `${label}: no image was generated (FROM scratch alone makes none)`)
  // FROM alone keeps the base's manifest, which may be Docker's.
  const desc = manifestDescriptor(store, loadImage(store, stage.manifest))
  await store.locked(() => {
    for (const t of tags) store.index.tag(t, desc)
    // Untagged, the result is listed as <none>, as docker lists it.
    if (!tags.length) store.index.addDangling(desc)
  })
  b.log(`Successfully built ${short(stage.id)}`)
  for (const t of tags) b.log(`Successfully tagged ${t}`)
  return { id: stage.id, manifest: stage.manifest, tags }
}
