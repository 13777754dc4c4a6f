// Which handler runs each Dockerfile instruction. The parser's list of known
// instructions and this table must agree (a test checks it).
import type { Handler } from '../build-state.js'
import { from } from './from.js'
import { arg } from './arg.js'
import { run } from './run.js'
import { copy } from './copy.js'
import { env, label } from './env.js'
import { cmd, entrypoint } from './command.js'
import { workdir, user, expose, volume, maintainer, stopsignal } from './config-fields.js'
import { shell } from './shell.js'
import { healthcheck } from './healthcheck.js'
import { onbuild } from './onbuild.js'

export const HANDLERS: Readonly<Record<string, Handler>> = {
  FROM: from,
  ARG: arg,
  RUN: run,
  COPY: copy,
  ADD: copy,
  ENV: env,
  LABEL: label,
  CMD: cmd,
  ENTRYPOINT: entrypoint,
  WORKDIR: workdir,
  USER: user,
  EXPOSE: expose,
  VOLUME: volume,
  MAINTAINER: maintainer,
  STOPSIGNAL: stopsignal,
  SHELL: shell,
  HEALTHCHECK: healthcheck,
  ONBUILD: onbuild,
}
