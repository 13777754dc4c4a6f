// strata image build (also `strata build`): an image from a Dockerfile, with
// docker's classic output. A failing RUN makes the build's exit status its
// command's. `-f -` reads the Dockerfile from stdin; a context of `-` reads
// the context from stdin (a tar, or a Dockerfile alone).
import type { CommandModule } from 'yargs'
import { buildImage, RunFailed } from '../../builder/build-image.js'
import { stdinContext, type StdinContext } from '../../builder/stdin-context.js'
import { stdinWord } from '../stdin-word.js'
import { errnoError } from '../../base/errno-error.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'

interface Args extends RootArgs {
  context: string
  t?: string | string[]
  f?: string
  'build-arg'?: string | string[]
  target?: string
  cache?: boolean
  q?: boolean
}

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export const imageBuildCommand: CommandModule<object, Args> = {
  command: 'build <context>',
  describe: 'Build an image from a Dockerfile',
  builder: (y) => withRoot(y
    .positional('context', { type: 'string', demandOption: true, coerce: stdinWord, describe: 'directory COPY and ADD take files from; - reads a tar (or a Dockerfile alone) from stdin' })
    // Not array options: those would swallow the context after them.
    .option('t', { alias: 'tag', type: 'string', describe: 'name the image repository[:tag]; repeatable' })
    .option('f', { alias: 'file', type: 'string', describe: 'the Dockerfile (default: CONTEXT/Dockerfile); - reads it from stdin' })
    .option('build-arg', { type: 'string', describe: 'KEY=VALUE for an ARG; repeatable' })
    .option('target', { type: 'string', describe: 'build this stage (FROM … AS name) and what it needs, not the last one' })
    // yargs reads --no-cache as cache=false.
    .option('cache', { type: 'boolean', default: true, describe: 'use cached steps (--no-cache runs every step)' })
    .option('q', { alias: 'quiet', type: 'boolean', describe: 'print only the image ID (RUN output only on failure)' })
    .example('$0 image build -t hello:1 .', '')
    .example('$0 build -t app:1 -f docker/Dockerfile --build-arg VERSION=2 .', '')
    .example('$0 build --target builder -t app:build .', 'only the stage named builder')
    .example('tar -C src -c . | $0 build -t app:1 -', 'the context from stdin')),
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
    const context = a.context
    if (context === '-' && a.f === '-') throw errnoError('EINVAL', 'stdin cannot be both the context and the Dockerfile (-f - with a context of -)')
    const store = openStore(a)
    let fromStdin: StdinContext | null = null
    let dockerfileText: string | undefined
    let dockerfile = a.f
    if (a.f === '-') {
      dockerfileText = await readStdin()
      dockerfile = 'Dockerfile'
    }
    const held: Buffer[] = []
    try {
      if (context === '-') {
        fromStdin = await stdinContext(store, process.stdin)
        dockerfileText = fromStdin.dockerfileText
        // -f names a file inside the context tar.
        if (a.f !== undefined && dockerfileText === undefined) dockerfile = `${fromStdin.dir}/${a.f}`
      }
      const r = await buildImage(store, {
        context: fromStdin?.dir ?? context,
        dockerfile,
        dockerfileText,
        target: a.target,
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
    } finally {
      fromStdin?.remove()
    }
  },
}
