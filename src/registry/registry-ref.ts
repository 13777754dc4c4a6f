// A reference to an image in a registry: host/path[:tag][@digest]. strata has
// no default registry (its names are taken literally, see image/reference.ts),
// so the host is required. The local name of a pulled image is the reference
// as written, host included, as docker names it.
import { errnoError } from '../base/errno-error.js'
import { parseReference } from '../image/reference.js'

export interface RegistryRef {
  host: string
  /** The repository path in the registry (no host). */
  repository: string
  tag: string
  digest?: string
  /** host/path:tag: the name in the local store. */
  name: string
}

export function parseRegistryRef (ref: string): RegistryRef {
  let digest: string | undefined
  const at = ref.indexOf('@')
  let rest = ref
  if (at >= 0) {
    digest = ref.slice(at + 1)
    rest = ref.slice(0, at)
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw errnoError('EINVAL', `invalid digest in "${ref}": strata knows sha256:<64 hex digits>`)
  }
  const { repository, tag, name } = parseReference(rest)
  const slash = repository.indexOf('/')
  const first = slash > 0 ? repository.slice(0, slash) : ''
  if (!first || !/[.:]|^localhost$/.test(first)) {
    throw errnoError('EINVAL', `"${ref}" names no registry: write it with the registry host first, e.g. localhost:5000/${repository}:${tag}`)
  }
  return { host: first, repository: repository.slice(slash + 1), tag, digest, name }
}

/** Loopback registries may speak plain HTTP without being marked insecure, as with docker. */
function isLoopback (host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  return h === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1'
}

/** Registries the user marked insecure: --insecure, or STRATA_INSECURE_REGISTRIES=host[:port],… */
export function isInsecure (host: string, flag = false): boolean {
  if (flag || isLoopback(host)) return true
  return (process.env.STRATA_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).includes(host)
}
