// FROM image|stage [AS name]: a new stage on an earlier stage's result, an
// image from the store, or nothing (scratch). Its words see only the ARGs
// declared before the first FROM, as docker's do. A new stage starts with
// no ARGs and no CMD of its own; what the base image's ONBUILD triggers do
// is the driver's (build-image.ts).
import { errnoError } from '../../base/errno-error.js'
import { resolveImage } from '../../image/resolve-image.js'
import { expandWords } from '../expand-words.js'
import { type Handler, metaVars, scratchStage, short } from '../build-state.js'

// eslint-disable-next-line @typescript-eslint/require-await -- a Handler returns a promise; a throw must become its rejection
export const from: Handler = async (b, _stage, ins) => {
  const words = expandWords(ins.args, metaVars(b), b.escape)
  if (words.length !== 1 && !(words.length === 3 && words[1].toLowerCase() === 'as')) throw errnoError('EINVAL', 'FROM takes an image (and optionally AS name)')
  const earlier = b.stages.get(words[0].toLowerCase())
  if (earlier && !/^\d+$/.test(words[0])) {
    // A stage that made no image (FROM scratch alone) is scratch again.
    if (!earlier.id) { b.log(' ---> '); return scratchStage() }
    b.log(` ---> ${short(earlier.id)}`)
    return { ...earlier, args: new Map(), cmdSet: false }
  }
  if (words[0] === 'scratch') {
    b.log(' ---> ')
    return scratchStage()
  }
  const img = resolveImage(b.store, words[0])
  b.log(` ---> ${short(img.configDigest)}`)
  return { ...scratchStage(), config: img.config, layers: img.manifest.layers, manifest: img.manifestDigest, id: img.configDigest }
}
