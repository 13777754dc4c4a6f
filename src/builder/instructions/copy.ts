// COPY and ADD: the sources planned against the context (or, with COPY
// --from, an earlier stage's or an image's files: stage-files.ts) and the
// stage's image (copy-layer.ts), a cache lookup keyed by the sources' content
// digest, and on a miss the files laid out in a staging dir and written as
// the step's layer — no container, no mount. Staging and tar are removed
// whatever happens.
import fs from 'node:fs'
import path from 'node:path'
import { ownedPrefix } from '../../store/stale-temp.js'
import { tempName } from '../../base/atomic-file.js'
import { errnoError } from '../../base/errno-error.js'
import { resolveImage } from '../../image/resolve-image.js'
import type { CopySource } from '../build-context.js'
import { StageFiles } from '../stage-files.js'
import { expandWord, expandWords, type Vars } from '../expand-words.js'
import type { Instruction } from '../dockerfile-parser.js'
import { ImageTree } from '../image-tree.js'
import { planCopy, writeCopyLayer } from '../copy-layer.js'
import { type Handler, type Stage, short, stageVars, stepKey } from '../build-state.js'
import { cachedStep, commitStep, shellOf } from '../step-commit.js'

/** The sources and destination, substituted; the plan checks their count with stand-in values. */
export function copyWords (ins: Instruction, vars: Vars, escape: string): string[] {
  const words = ins.json ? ins.json.map((w) => expandWord(w, vars, escape)) : expandWords(ins.args, vars, escape)
  if (words.length < 2) throw errnoError('EINVAL', `${ins.cmd} requires at least two arguments: source(s) and destination`)
  return words
}

export const copy: Handler = async (b, stage, ins) => {
  const v = stageVars(stage)
  const words = copyWords(ins, v, b.escape)
  const dest = words[words.length - 1]
  const tree = new ImageTree(b.store, stage.config)
  let fromTree: ImageTree | null = null
  const staging = fs.mkdtempSync(ownedPrefix(b.store.tmp, 'build-copy-'))
  const tar = tempName(path.join(b.store.tmp, 'build-copy.tar'))
  try {
    let source: CopySource = b.ctx
    const from = ins.flags.from
    if (from !== undefined) {
      // An earlier stage (checked by the plan), else an image in the store.
      const config = b.stages.get(from.toLowerCase())?.config ?? resolveImage(b.store, from).config
      fromTree = new ImageTree(b.store, config)
      source = new StageFiles(fromTree, from)
    }
    const plan = await planCopy(source, tree, {
      sources: words.slice(0, -1),
      dest,
      workdir: stage.config.config?.WorkingDir ?? '/',
      add: ins.cmd === 'ADD',
      what: ins.cmd,
      chown: ins.flags.chown === undefined ? undefined : expandWord(ins.flags.chown, v, b.escape),
      chmod: ins.flags.chmod,
      keepOwners: from !== undefined,
    })
    const createdBy = `${shellOf(stage).join(' ')} #(nop) ${ins.cmd} ${from !== undefined ? `--from=${from} ` : ''}${plan.describe} in ${dest} `
    const key = stepKey(stage, createdBy, plan.digest)
    let next: Stage | null = cachedStep(b, stage, key)
    if (next) {
      b.log(' ---> Using cache')
    } else {
      await writeCopyLayer(plan, tree, staging, tar)
      next = await commitStep(b, stage, key, createdBy, tar)
    }
    b.log(` ---> ${short(next.id!)}`)
    return next
  } finally {
    tree.close()
    fromTree?.close()
    fs.rmSync(staging, { recursive: true, force: true })
    fs.rmSync(tar, { force: true })
  }
}
