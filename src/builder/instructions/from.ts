// FROM image [AS name]: a new stage on an image from the store, or on
// nothing (scratch). Its words see only the ARGs declared before the first
// FROM, as docker's do.
import { errnoError } from '../../base/errno-error.js'
import { resolveImage } from '../../image/resolve-image.js'
import { expandWords } from '../expand-words.js'
import { type Handler, metaVars, scratchStage, short } from '../build-state.js'

export const from: Handler = async (b, _stage, ins) => {
  const words = expandWords(ins.args, metaVars(b), b.escape)
  if (words.length !== 1 && !(words.length === 3 && words[1].toLowerCase() === 'as')) throw errnoError('EINVAL', 'FROM takes an image (and optionally AS name)')
  if (words[0] === 'scratch') {
    b.log(' ---> ')
    return scratchStage()
  }
  const img = resolveImage(b.store, words[0])
  b.log(` ---> ${short(img.configDigest)}`)
  return { ...scratchStage(), config: img.config, layers: img.manifest.layers, manifest: img.manifestDigest, id: img.configDigest }
}
