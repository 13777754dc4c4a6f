// CMD and ENTRYPOINT: the exec form as written, the shell form wrapped in
// the stage's shell (SHELL, else /bin/sh -c). As docker: an ENTRYPOINT
// drops the Cmd inherited from the base image, but not one this stage set
// before it.
import { type Handler } from '../build-state.js'
import { metaStep, nop, argvText, shellOf } from '../step-commit.js'

export const cmd: Handler = async (b, stage, ins) => {
  const argv = ins.json ?? [...shellOf(stage), ins.args]
  return metaStep(b, { ...stage, cmdSet: true }, nop(stage, `CMD ${argvText(argv)}`), (c) => { c.Cmd = argv })
}

export const entrypoint: Handler = async (b, stage, ins) => {
  const argv = ins.json ?? [...shellOf(stage), ins.args]
  const resetCmd = !stage.cmdSet
  return metaStep(b, stage, nop(stage, `ENTRYPOINT ${argvText(argv)}`), (c) => {
    c.Entrypoint = argv
    if (resetCmd) delete c.Cmd
  })
}
