// `run --pull=POLICY`: docker's always|missing|never, plus lazy (an image
// missing from the store is pulled with `pull --lazy`, its eStargz layers
// fetched as the container reads them, so the command starts at once). The
// pull's progress goes to stderr: stdout is the container's. A name with no
// registry host cannot be pulled (strata has no default registry), so for
// it `missing` and `lazy` report the store's own "no image" error.
import type { Store } from '../store/store.js'
import { resolveImage } from '../image/resolve-image.js'
import { pullImage } from '../registry/pull-image.js'
import { parseRegistryRef } from '../registry/registry-ref.js'
import { transferProgress } from './transfer-progress.js'

export const PULL_POLICIES = ['always', 'missing', 'never', 'lazy'] as const
export type PullPolicy = typeof PULL_POLICIES[number]

/** Makes sure `ref` is in the store as `policy` says; throws what resolving or pulling threw. */
export async function pullForRun (store: Store, ref: string, policy: PullPolicy): Promise<void> {
  if (policy !== 'always') {
    try {
      resolveImage(store, ref)
      return
    } catch (err) {
      if (policy === 'never' || (err as { code?: string }).code !== 'ENOENT') throw err
      try { parseRegistryRef(ref) } catch { throw err }
    }
    process.stderr.write(`Unable to find image '${ref}' locally\n`)
  }
  const progress = transferProgress(process.stderr)
  try {
    await pullImage(store, ref, { events: progress.events, lazy: policy === 'lazy' })
  } finally {
    progress.stop()
  }
}
