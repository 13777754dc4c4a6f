// The files to put before the prefetch landmark for convert and push:
// --prioritize FILE (repeatable), then, with --estargz-record [CMD], the
// files the image's command (or CMD) opened in one recording run
// (run/record-opens.ts). Said on stderr: how many were recorded and how the
// command ended (a command that fails still read what it read).
import type { Store } from '../store/store.js'
import { resolveImage } from '../image/resolve-image.js'
import { recordOpens } from '../run/record-opens.js'

export interface PrioritizeArgs { prioritize?: string | string[], 'estargz-record'?: string }

export const RECORD_DESCRIBE = 'run the image\'s command once (or CMD: /bin/sh -c CMD, or a JSON ["exec","form"]) in a container with no network, and put the files it opened first, before the prefetch landmark'

export async function prioritizedFiles (store: Store, ref: string, a: PrioritizeArgs): Promise<string[] | undefined> {
  const given = a.prioritize === undefined ? [] : [a.prioritize].flat()
  if (a['estargz-record'] === undefined) return given.length ? given : undefined
  const { files, exitCode } = await recordOpens(store, resolveImage(store, ref), a['estargz-record'])
  process.stderr.write(`recorded ${files.length} file(s) opened by the image's command (exit status ${exitCode})\n`)
  return [...new Set([...given, ...files])]
}
