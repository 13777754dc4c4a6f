// Fetching a manifest or an image index by tag or digest, with the Accept
// header for both OCI and Docker schema 2, and its digest checked: against
// the digest asked for, and against the registry's Docker-Content-Digest.
import crypto from 'node:crypto'
import { errnoError } from '../base/errno-error.js'
import { MT } from '../oci/oci-types.js'
import type { RegistryClient } from './registry-client.js'
import { SMALL_LIMIT, readLimited } from './read-limited.js'

const MANIFEST_ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ')

export interface FetchedManifest {
  bytes: Buffer
  digest: string
  mediaType: string
  doc: { schemaVersion?: number, mediaType?: string, manifests?: unknown, layers?: unknown, config?: unknown }
}

export async function fetchManifest (client: RegistryClient, repository: string, reference: string): Promise<FetchedManifest> {
  const what = `manifest ${client.host}/${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`
  const res = await client.request('GET', `/v2/${repository}/manifests/${reference}`, {
    headers: { Accept: MANIFEST_ACCEPT },
    scopes: [`repository:${repository}:pull`],
  })
  if (res.status === 404) {
    await res.body?.cancel()
    throw errnoError('ENOENT', `${what} not found (no such repository or tag)`)
  }
  if (!res.ok) throw await client.failure(res, `GET ${what}`)
  const bytes = await readLimited(res, SMALL_LIMIT, what)
  const digest = 'sha256:' + crypto.createHash('sha256').update(bytes).digest('hex')
  if (reference.startsWith('sha256:') && digest !== reference) throw errnoError('EBADMSG', `${what}: digest mismatch, got ${digest}`)
  const claimed = res.headers.get('docker-content-digest')
  if (claimed?.startsWith('sha256:') && claimed !== digest) throw errnoError('EBADMSG', `${what}: the registry says ${claimed} but the bytes hash to ${digest}`)
  let doc: FetchedManifest['doc']
  try {
    doc = JSON.parse(bytes.toString('utf8')) as FetchedManifest['doc']
  } catch {
    throw errnoError('EBADMSG', `${what} is not valid JSON`)
  }
  const mediaType = doc.mediaType ?? (res.headers.get('content-type') ?? '').split(';')[0].trim()
  if (doc.schemaVersion === 1 || mediaType.startsWith('application/vnd.docker.distribution.manifest.v1+')) {
    throw errnoError('ENOTSUP', `${what} is a Docker schema 1 manifest, which strata does not read (push it again with a current client)`)
  }
  return { bytes, digest, mediaType, doc }
}
