// CMD and ENTRYPOINT: the exec form as written, the shell form wrapped in
// /bin/sh -c. As docker: an ENTRYPOINT drops the Cmd inherited from the
// base image, but not one this stage set before it.
import { type Handler } from '../build-state.js'
import { metaStep, nop, argvText } from '../step-commit.js'

export const cmd: Handler = async (b, stage, ins) => {
  const argv = ins.json ?? ['/bin/sh', '-c', ins.args]
  return metaStep(b, { ...stage, cmdSet: true }, nop(`CMD ${argvText(argv)}`), (c) => { c.Cmd = argv })
}

export const entrypoint: Handler = async (b, stage, ins) => {
  const argv = ins.json ?? ['/bin/sh', '-c', ins.args]
  const resetCmd = !stage.cmdSet
  return metaStep(b, stage, nop(`ENTRYPOINT ${argvText(argv)}`), (c) => {
    c.Entrypoint = argv
    if (resetCmd) delete c.Cmd
  })
}
