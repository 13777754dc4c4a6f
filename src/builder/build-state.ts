// The state of a build, made explicit. A Stage is a value — the image a
// stage has made so far plus what the next instruction sees (its ARGs,
// whether it set CMD, its SHELL) — and every instruction handler returns a
// new one rather than changing it, so a finished stage can be kept and
// named for later stages (COPY --from, FROM <stage>). A Build is what all
// stages of one `strata build` share: the store, the context, the options,
// the build args and which of them were used. Only the driver
// (build-image.ts) and the handlers (instructions/) touch a Build.
import crypto from 'node:crypto'
import type { Store } from '../store/store.js'
import { type Descriptor, type ImageConfig } from '../oci/oci-types.js'
import { ARCH } from '../image/import-image.js'
import type { BuildContext } from './build-context.js'
import type { Instruction } from './dockerfile-parser.js'
import type { Vars } from './expand-words.js'

export interface Stage {
  config: ImageConfig
  layers: Descriptor[]
  /** null only for scratch before its first step. */
  manifest: string | null
  id: string | null
  /** ARGs declared in this stage and their values (undefined: no value). */
  args: ReadonlyMap<string, string | undefined>
  /** A CMD was set in this stage: an ENTRYPOINT after it keeps it. */
  cmdSet: boolean
}

export interface Build {
  store: Store
  ctx: BuildContext
  /** The Dockerfile's name, for messages. */
  label: string
  escape: string
  noCache: boolean
  log: (line: string) => void
  output: (chunk: Buffer, stream: 'stdout' | 'stderr') => void
  /** --build-arg values, and the names an ARG has used. */
  buildArgs: ReadonlyMap<string, string>
  consumed: Set<string>
  /** ARGs before the first FROM: FROM lines see only these. */
  metaArgs: Map<string, string | undefined>
  /** Finished stages, by index ("0") and by lower-cased AS name. */
  stages: Map<string, Stage>
}

/** A handler: the stage after one instruction. */
export type Handler = (b: Build, stage: Stage, ins: Instruction) => Promise<Stage>

export const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12)

export function scratchStage (): Stage {
  return {
    config: { architecture: ARCH[process.arch] ?? process.arch, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
    layers: [],
    manifest: null,
    id: null,
    args: new Map(),
    cmdSet: false,
  }
}

/** What $VAR means in a stage: its ARGs, then the image's Env over them. */
export function stageVars (stage: Stage): Vars {
  const v = new Map<string, string>()
  for (const [k, x] of stage.args) if (x !== undefined) v.set(k, x)
  for (const e of stage.config.config?.Env ?? []) { const i = e.indexOf('='); v.set(e.slice(0, i), e.slice(i + 1)) }
  return v
}

/** The meta ARGs with values, as FROM sees them. */
export function metaVars (b: Build): Vars {
  const v = new Map<string, string>()
  for (const [k, x] of b.metaArgs) if (x !== undefined) v.set(k, x)
  return v
}

/**
 * A step's cache key: the image it starts from, its history text (which
 * carries the substituted arguments) and anything else it depends on (the
 * copied files' digest).
 */
export function stepKey (stage: Stage, createdBy: string, extra = ''): string {
  return crypto.createHash('sha256').update(JSON.stringify([stage.id ?? 'scratch', createdBy, extra])).digest('hex')
}
