// `--estargz-record`: runs an image's command once in a throwaway container
// (network none, stdin closed, output to stderr) and returns the files it
// opened, in the order first opened, as paths in the image ("/bin/sh"). The
// container's FUSE daemon records them (cli/layer-opener.ts: each opened
// lower file's path, through STRATA_RECORD_OPENS, which the daemon inherits
// from this process). stargz-snapshotter's optimizer does the same with a
// fanotify watcher in the container; here the daemon already sees every open.
import fs from 'node:fs'
import path from 'node:path'
import type { Store } from '../store/store.js'
import { ownedPrefix } from '../store/stale-temp.js'
import type { Image } from '../image/resolve-image.js'
import { runOwned } from './run-owned.js'
import { updateState, processStart } from './container-state.js'
import type { RunFlags } from './run-spec.js'

/**
 * `command` empty: the image's Entrypoint and Cmd. A text starting with "["
 * is a JSON exec form, any other is run by /bin/sh -c (a Dockerfile's two forms).
 */
export async function recordOpens (store: Store, image: Image, command: string): Promise<{ files: string[], exitCode: number }> {
  let argv: string[] = []
  if (command.trim().startsWith('[')) argv = JSON.parse(command) as string[]
  else if (command.trim()) argv = ['/bin/sh', '-c', command]
  const flags: RunFlags = { command: argv, entrypoint: command.trim() ? '' : undefined, network: 'none', hostname: 'record' }
  const tmp = fs.mkdtempSync(ownedPrefix(store.tmp, 'record-'))
  const log = path.join(tmp, 'opened')
  const before = process.env.STRATA_RECORD_OPENS
  try {
    const c = await store.locked(() => {
      const c = store.containers.create(undefined, image.manifestDigest, image.names[0] ?? image.manifestDigest)
      updateState(store, c, { status: 'created', flags, autoRemove: true, ownerPid: process.pid, ownerStart: processStart(process.pid) ?? undefined })
      return c
    })
    process.env.STRATA_RECORD_OPENS = log
    const exitCode = await runOwned(store, c, image, { flags, autoRemove: true, stdin: 'ignore', onOutput: (d) => { process.stderr.write(d) } })
    const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []
    return { files: [...new Set(lines)].map((f) => '/' + f), exitCode }
  } finally {
    if (before === undefined) delete process.env.STRATA_RECORD_OPENS
    else process.env.STRATA_RECORD_OPENS = before
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}
