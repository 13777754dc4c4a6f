// SHELL ["executable", "args"…]: the prefix of the shell form of RUN, CMD
// and ENTRYPOINT from here on (and of docker's #(nop) history text), kept
// in the config (config.Shell) so a stage FROM this image inherits it.
import { type Handler } from '../build-state.js'
import { metaStep, nop } from '../step-commit.js'

export const shell: Handler = async (b, stage, ins) => {
  const argv = ins.json!
  // docker prints the list as Go does: [/bin/bash -c].
  return metaStep(b, stage, nop(stage, `SHELL [${argv.join(' ')}]`), (c) => { c.Shell = argv })
}
