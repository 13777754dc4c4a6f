// ONBUILD instruction: stored, as written after the keyword, in
// config.OnBuild; the triggers run when the image is a later build's base
// (see the driver, build-image.ts). The trigger was checked with the rest of
// the file.
import { type Handler } from '../build-state.js'
import { metaStep, nop } from '../step-commit.js'

export const onbuild: Handler = async (b, stage, ins) => {
  const trigger = ins.args.trim()
  return metaStep(b, stage, nop(stage, `ONBUILD ${trigger}`), (c) => { c.OnBuild = [...(c.OnBuild ?? []), trigger] })
}
