// The RepoDigests docker shows for an image: host/repo@digest for each
// registry repository it was pulled from or pushed to, under the digest the
// registry knows it by (an index's, when the pull went through one). Kept
// in the store as repo-digests.json: { manifestDigest: ["host/repo@…"] }.
import fs from 'node:fs'
import path from 'node:path'
import type { Store } from '../store/store.js'
import { writeFileAtomic } from '../base/atomic-file.js'

type RepoDigests = Record<string, string[]>

const file = (store: Store): string => path.join(store.root, 'repo-digests.json')

function read (store: Store): RepoDigests {
  try {
    return JSON.parse(fs.readFileSync(file(store), 'utf8')) as RepoDigests
  } catch {
    return {}
  }
}

export function repoDigests (store: Store, manifestDigest: string): string[] {
  return read(store)[manifestDigest] ?? []
}

/** Notes host/repo@digest for a stored manifest. Callers hold the store lock. */
export function noteRepoDigest (store: Store, manifestDigest: string, repository: string, digest: string): void {
  const all = read(store)
  const entry = `${repository}@${digest}`
  all[manifestDigest] = [...(all[manifestDigest] ?? []).filter((e) => !e.startsWith(repository + '@')), entry].sort()
  for (const m of Object.keys(all)) if (!/^sha256:[0-9a-f]{64}$/.test(m) || !store.blobs.has(m)) delete all[m]
  writeFileAtomic(file(store), JSON.stringify(all))
}
