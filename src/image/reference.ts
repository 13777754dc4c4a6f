// Image references as docker spells them: [host[:port]/]path[:tag][@digest].
// A bare name means tag "latest". Names are kept as given (no docker.io/library
// expansion): strata's store is local and its registry client takes hosts
// literally.
import { errnoError } from '../base/errno-error.js'

export interface Reference {
  repository: string
  tag: string
  /** "repository:tag" */
  name: string
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/

export function parseReference (ref: string): Reference {
  const slash = ref.lastIndexOf('/')
  const colon = ref.lastIndexOf(':')
  let repository = ref
  let tag = 'latest'
  if (colon > slash) {
    repository = ref.slice(0, colon)
    tag = ref.slice(colon + 1)
  }
  const parts = repository.split('/')
  const host = parts.length > 1 && /[.:]|^localhost$/.test(parts[0]) ? parts.shift()! : null
  if (!repository || parts.some((p) => !COMPONENT.test(p)) || (host !== null && !/^[a-zA-Z0-9.-]+(:\d+)?$/.test(host))) {
    throw errnoError('EINVAL', `invalid image name "${ref}": lowercase letters, digits and separators (. _ -), path parts joined by /`)
  }
  if (!TAG.test(tag)) throw errnoError('EINVAL', `invalid tag in "${ref}"`)
  return { repository, tag, name: `${repository}:${tag}` }
}
