// RUN: a command in a temporary container on the stage's image
// (run/run-container.ts); its upper dir, unless empty, is the step's layer.
// The container is removed whatever happens. The ARGs in effect reach the
// command as environment variables (not into the image) and are part of
// the history text, so a changed --build-arg misses the cache, as docker's.
import fs from 'node:fs'
import path from 'node:path'
import { tempName } from '../../base/atomic-file.js'
import { loadImage } from '../../image/resolve-image.js'
import { writeImage } from '../../image/write-image.js'
import { archiveLayerToFile } from '../../image/layer-archive.js'
import { runContainer } from '../../run/run-container.js'
import { type Handler, type Stage, short, stepKey } from '../build-state.js'
import { cachedStep, commitStep, shellOf } from '../step-commit.js'

/** A RUN whose command failed: its status is the build's. */
export class RunFailed extends Error {
  constructor (message: string, readonly status: number) { super(message) }
}

export const run: Handler = async (b, stage, ins) => {
  const argv = ins.json ?? [...shellOf(stage), ins.args]
  const env = stage.config.config?.Env ?? []
  const argEnv = [...stage.args].filter(([k, v]) => v !== undefined && !env.some((e) => e.startsWith(k + '='))).map(([k, v]) => `${k}=${v}`)
  const visible = [...stage.args].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`)
  const createdBy = (visible.length ? `|${visible.length} ${visible.join(' ')} ` : '') + argv.join(' ')
  const key = stepKey(stage, createdBy)
  const hit = cachedStep(b, stage, key)
  if (hit) {
    b.log(' ---> Using cache')
    b.log(` ---> ${short(hit.id!)}`)
    return hit
  }
  const store = b.store
  let base = stage
  const c = await store.locked(() => {
    if (!base.manifest) {
      // FROM scratch: the container needs an image to stand on.
      const w = writeImage(store, base.config, [], undefined, false)
      base = { ...base, manifest: w.manifest.digest }
    }
    return store.containers.create(undefined, base.manifest!, 'strata-build')
  })
  b.log(` ---> Running in ${short(c.id)}`)
  const tar = tempName(path.join(store.tmp, 'build-run.tar'))
  let next: Stage
  try {
    const image = loadImage(store, base.manifest!)
    const status = await runContainer(store, c, image, {
      flags: { command: argv, entrypoint: '', env: argEnv, hostname: short(c.id) },
      stdin: 'ignore',
      onOutput: b.output,
    })
    if (status !== 0) throw new RunFailed(`The command '${argv.join(' ')}' returned a non-zero code: ${status}`, status)
    const upper = store.containers.upper(c)
    const empty = fs.readdirSync(upper).length === 0
    // The base's layers, top first: a directory the step renamed is written from them.
    const lowers = (): string[] => [...image.config.rootfs.diff_ids].reverse().map((d) => store.layers.require(d))
    if (!empty) await archiveLayerToFile(upper, tar, { lowers })
    next = await commitStep(b, stage, key, createdBy, empty ? null : tar)
  } finally {
    fs.rmSync(tar, { force: true })
    await store.locked(() => { store.containers.remove(c) })
    b.log(`Removing intermediate container ${short(c.id)}`)
  }
  b.log(` ---> ${short(next.id!)}`)
  return next
}
