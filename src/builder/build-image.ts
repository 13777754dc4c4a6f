// `strata image build`: runs a Dockerfile (dockerfile-parser.ts) step by
// step, as docker's classic builder does. Every step but FROM makes an image
// (step-commit.ts); each instruction has its handler (instructions/), which
// takes the stage so far and returns the next (build-state.ts). The step
// cache (store/build-cache.ts) refers to intermediate images, which are not
// in the index; only the result is tagged (or listed as <none>).
import fs from 'node:fs'
import path from 'node:path'
import type { Store } from '../store/store.js'
import { errnoError } from '../base/errno-error.js'
import { loadImage, manifestDescriptor } from '../image/resolve-image.js'
import { parseReference } from '../image/reference.js'
import { parseDockerfile, dockerfileError } from './dockerfile-parser.js'
import { BuildContext } from './build-context.js'
import { type Build, type Stage, scratchStage, short } from './build-state.js'
import { HANDLERS } from './instructions/handlers.js'
import { metaArg } from './instructions/arg.js'
import { RunFailed } from './instructions/run.js'

export { RunFailed }

export interface BuildOptions {
  /** The context directory. */
  context: string
  /** Default: <context>/Dockerfile. */
  dockerfile?: string
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

export async function buildImage (store: Store, opts: BuildOptions): Promise<BuildResult> {
  const ctx = new BuildContext(opts.context)
  const dockerfile = opts.dockerfile ?? path.join(opts.context, 'Dockerfile')
  const label = path.basename(dockerfile)
  let text: string
  try {
    text = fs.readFileSync(dockerfile, 'utf8')
  } catch (err) {
    throw errnoError((err as NodeJS.ErrnoException).code ?? 'EIO', `cannot read the Dockerfile ${dockerfile}: ${(err as Error).message}`)
  }
  const { instructions, escape } = parseDockerfile(text, label)
  if (!instructions.length) throw errnoError('EINVAL', `${label}: no instructions (is the Dockerfile empty?)`)
  const firstOther = instructions.find((i) => i.cmd !== 'ARG')
  if (firstOther?.cmd !== 'FROM') throw dockerfileError(label, (firstOther ?? instructions[0]).line, `the first instruction (after ARGs) must be FROM, not ${firstOther?.cmd ?? 'nothing'}`)
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
  }

  let stage: Stage = scratchStage()
  let started = false
  for (const [n, ins] of instructions.entries()) {
    b.log(`Step ${n + 1}/${instructions.length} : ${ins.original}`)
    try {
      const flag = Object.keys(ins.flags)[0]
      if (flag !== undefined && ins.cmd !== 'COPY' && ins.cmd !== 'ADD') throw errnoError('EINVAL', `${ins.cmd} --${flag} is not supported`)
      if (!started && ins.cmd === 'ARG') { metaArg(b, ins); continue }
      started = true
      const handler = HANDLERS[ins.cmd]
      if (!handler) throw errnoError('EINVAL', `unknown instruction ${ins.cmd}`)
      stage = await handler(b, stage, ins)
    } catch (err) {
      if (err instanceof RunFailed) throw err
      // Name the line, after the errno code the message starts with.
      const e = err as Error
      const m = /^(E[A-Z0-9]+: )?([\s\S]*)$/.exec(e.message)!
      if (!m[2].startsWith(`${label}:`)) e.message = `${m[1] ?? ''}${label}:${ins.line}: ${m[2]}`
      throw e
    }
  }
  const unused = [...b.buildArgs.keys()].filter((k) => !b.consumed.has(k))
  if (unused.length) b.log(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`)
  if (!stage.manifest || !stage.id) throw errnoError('EINVAL', `${label}: no image was generated (FROM scratch alone makes none)`)
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
