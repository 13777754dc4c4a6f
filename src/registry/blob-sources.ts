// Which registry repositories are known to hold a blob (those it was pulled
// from or pushed to), so that a push to another repository of the same
// registry can mount it instead of sending it again, as docker does. Kept in
// the store as registry-sources.json: { digest: ["host/repo", …] }; a hint
// only: a stale entry costs one refused mount.
import fs from 'node:fs'
import path from 'node:path'
import type { Store } from '../store/store.js'
import { writeFileAtomic } from '../base/atomic-file.js'

type Sources = Record<string, string[]>

const file = (store: Store): string => path.join(store.root, 'registry-sources.json')

function read (store: Store): Sources {
  try {
    return JSON.parse(fs.readFileSync(file(store), 'utf8')) as Sources
  } catch {
    return {}
  }
}

/** Repositories on `host` known to have `digest`. */
export function blobSources (store: Store, host: string, digest: string): string[] {
  return (read(store)[digest] ?? []).filter((r) => r.startsWith(host + '/')).map((r) => r.slice(host.length + 1))
}

/** Notes that host/repository has these blobs. Callers hold the store lock. */
export function noteBlobSources (store: Store, host: string, repository: string, digests: string[]): void {
  const all = read(store)
  const where = `${host}/${repository}`
  for (const d of digests) all[d] = [where, ...(all[d] ?? []).filter((r) => r !== where)].slice(0, 8)
  for (const d of Object.keys(all)) if (!store.blobs.has(d)) delete all[d]
  writeFileAtomic(file(store), JSON.stringify(all))
}
