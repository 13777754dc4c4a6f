// strata image build (also `strata build`): an image from a Dockerfile, with
// docker's classic output. A failing RUN makes the build's exit status its
// command's.
import type { CommandModule } from 'yargs'
import { buildImage, RunFailed } from '../../builder/build-image.js'
import { errnoError } from '../../base/errno-error.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'

interface Args extends RootArgs {
  context: string
  t?: string | string[]
  f?: string
  'build-arg'?: string | string[]
  cache?: boolean
  q?: boolean
}

export const imageBuildCommand: CommandModule<object, Args> = {
  command: 'build <context>',
  describe: 'Build an image from a Dockerfile',
  builder: (y) => withRoot(y
    .positional('context', { type: 'string', demandOption: true, describe: 'directory COPY and ADD take files from' })
    // Not array options: those would swallow the context after them.
    .option('t', { alias: 'tag', type: 'string', describe: 'name the image repository[:tag]; repeatable' })
    .option('f', { alias: 'file', type: 'string', describe: 'the Dockerfile (default: CONTEXT/Dockerfile)' })
    .option('build-arg', { type: 'string', describe: 'KEY=VALUE for an ARG; repeatable' })
    // yargs reads --no-cache as cache=false.
    .option('cache', { type: 'boolean', default: true, describe: 'use cached steps (--no-cache runs every step)' })
    .option('q', { alias: 'quiet', type: 'boolean', describe: 'print only the image ID (RUN output only on failure)' })
    .example('$0 image build -t hello:1 .', '')
    .example('$0 build -t app:1 -f docker/Dockerfile --build-arg VERSION=2 .', '')),
  handler: async (a) => {
    const buildArgs: Record<string, string> = {}
    for (const kv of [a['build-arg'] ?? []].flat()) {
      const i = kv.indexOf('=')
      if (i <= 0) {
        // As docker: --build-arg NAME takes NAME's value from this environment.
        if (i < 0 && process.env[kv] !== undefined) { buildArgs[kv] = process.env[kv]!; continue }
        throw errnoError('EINVAL', `--build-arg ${kv}: expected KEY=VALUE`)
      }
      buildArgs[kv.slice(0, i)] = kv.slice(i + 1)
    }
    const held: Buffer[] = []
    try {
      const r = await buildImage(openStore(a), {
        context: a.context,
        dockerfile: a.f,
        tags: [a.t ?? []].flat(),
        buildArgs,
        noCache: a.cache === false,
        log: a.q ? undefined : (line) => process.stdout.write(line + '\n'),
        output: a.q ? (d) => held.push(d) : undefined,
      })
      if (a.q) process.stdout.write(r.id + '\n')
    } catch (err) {
      if (!(err instanceof RunFailed)) throw err
      // Quiet, stdout is for the ID only: the failed step's output goes to stderr.
      for (const d of held) process.stderr.write(d)
      process.stderr.write(err.message + '\n')
      process.exitCode = err.status
    }
  },
}
