// Uploads one blob, as the distribution spec lays out: HEAD first (the
// registry may have it already), then a cross-repository mount from a
// repository of the same registry known to hold it, else an upload session:
// one PUT for a blob up to the chunk size (monolithic), PATCHes of one chunk
// each for a larger one. A chunk lost to a broken connection resumes from
// the offset the registry reports for the session; a session that fails
// outright is started over, a few times.
import fs from 'node:fs'
import { Transform } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { errnoError } from '../base/errno-error.js'
import type { Descriptor } from '../oci/oci-types.js'
import { networkCode, type RegistryClient } from './registry-client.js'

export interface UploadOptions {
  onBytes?: (done: number, total: number) => void
  /** Repositories of this registry that hold the blob (tried as mount sources). */
  mountFrom?: string[]
  /** Blobs larger than this go in PATCH chunks of this size (default 16 MiB). */
  chunkSize?: number
  attempts?: number
  backoffMs?: number
}

export type UploadOutcome = { how: 'exists' } | { how: 'mounted', from: string } | { how: 'pushed' }

const OCTETS = 'application/octet-stream'

/** A read stream of file[start, end) that reports bytes read. */
function fileRange (file: string, start: number, end: number, onBytes?: (n: number) => void): () => NodeJS.ReadableStream & fs.ReadStream {
  return () => {
    let n = start
    const s = fs.createReadStream(file, { start, end: end - 1, highWaterMark: 1 << 20 })
    if (!onBytes || end <= start) return s
    const counter = new Transform({ transform (chunk: Buffer, _e, cb) { n += chunk.length; onBytes(n); cb(null, chunk) } })
    s.on('error', (err) => counter.destroy(err))
    return s.pipe(counter) as unknown as fs.ReadStream
  }
}

export async function uploadBlob (client: RegistryClient, repository: string, desc: Descriptor, file: string, o: UploadOptions = {}): Promise<UploadOutcome> {
  const what = `blob ${desc.digest} to ${client.host}/${repository}`
  const scopes = [`repository:${repository}:pull,push`]
  const head = await client.request('HEAD', `/v2/${repository}/blobs/${desc.digest}`, { scopes })
  if (head.status === 200) return { how: 'exists' }
  if (head.status !== 404) throw await client.failure(head, `HEAD of ${what}`)

  let session: string | null = null
  for (const from of o.mountFrom ?? []) {
    if (from === repository) continue
    const res = await client.request('POST', `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`,
      { scopes: [...scopes, `repository:${from}:pull`] })
    await res.body?.cancel()
    if (res.status === 201) return { how: 'mounted', from }
    // 202: no mount, but the registry opened an upload session instead.
    if (res.status === 202 && res.headers.get('location')) { session = res.headers.get('location'); break }
  }

  const attempts = o.attempts ?? Number(process.env.STRATA_REGISTRY_ATTEMPTS ?? 5)
  const backoffMs = o.backoffMs ?? Number(process.env.STRATA_REGISTRY_BACKOFF_MS ?? 250)
  const chunk = o.chunkSize ?? Number(process.env.STRATA_PUSH_CHUNK_SIZE ?? 16 << 20)
  for (let attempt = 1; ; attempt++) {
    try {
      if (!session) session = await startSession(client, repository, scopes, what)
      const location: string = session
      session = null
      const final = desc.size <= chunk
        ? await putWhole(client, location, desc, file, scopes, o.onBytes)
        : await putChunks(client, location, desc, file, chunk, scopes, what, o.onBytes)
      const got = final.headers.get('docker-content-digest')
      if (final.status !== 201) throw await client.failure(final, `upload of ${what}`)
      await final.body?.cancel()
      if (got && got !== desc.digest) throw errnoError('EBADMSG', `${what}: the registry stored it as ${got}`)
      return { how: 'pushed' }
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code === 'EACCES' || code === 'EBADMSG' || code === 'EINVAL' || attempt >= attempts) throw err
      await sleep(backoffMs * 2 ** (attempt - 1))
    }
  }
}

async function startSession (client: RegistryClient, repository: string, scopes: string[], what: string): Promise<string> {
  const res = await client.request('POST', `/v2/${repository}/blobs/uploads/`, { scopes })
  const location = res.headers.get('location')
  if (res.status !== 202 || !location) throw await client.failure(res, `starting the upload of ${what}`)
  await res.body?.cancel()
  return location
}

function withDigest (client: RegistryClient, location: string, digest: string): string {
  const url = new URL(location, client.url('/'))
  url.searchParams.set('digest', digest)
  return url.toString()
}

async function putWhole (client: RegistryClient, location: string, desc: Descriptor, file: string, scopes: string[], onBytes?: (d: number, t: number) => void): Promise<Response> {
  return client.request('PUT', withDigest(client, location, desc.digest), {
    scopes,
    attempts: 1,
    headers: { 'Content-Type': OCTETS, 'Content-Length': String(desc.size) },
    body: fileRange(file, 0, desc.size, onBytes && ((n) => { onBytes(n, desc.size) })),
  })
}

async function putChunks (client: RegistryClient, location: string, desc: Descriptor, file: string, chunk: number, scopes: string[], what: string,
  onBytes?: (d: number, t: number) => void): Promise<Response> {
  let offset = 0
  let lost = 0
  while (offset < desc.size) {
    const end = Math.min(offset + chunk, desc.size)
    let res: Response
    try {
      res = await client.request('PATCH', location, {
        scopes,
        attempts: 1,
        headers: { 'Content-Type': OCTETS, 'Content-Length': String(end - offset), 'Content-Range': `${offset}-${end - 1}` },
        body: fileRange(file, offset, end, onBytes && ((n) => { onBytes(n, desc.size) })),
      })
    } catch (err) {
      // Ask the session how much it has, and go on from there.
      if (++lost > 5) throw err
      const status = await client.request('GET', location, { scopes })
      await status.body?.cancel()
      if (status.status !== 204) throw errnoError(networkCode(err), `${what}: the connection broke at byte ${offset} and the upload session is gone (${status.status})`)
      location = status.headers.get('location') ?? location
      offset = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1] ?? -1) + 1
      continue
    }
    if (res.status !== 202) throw await client.failure(res, `upload of ${what} at byte ${offset}`)
    await res.body?.cancel()
    location = res.headers.get('location') ?? location
    offset = end
  }
  return client.request('PUT', withDigest(client, location, desc.digest), { scopes, attempts: 1, headers: { 'Content-Length': '0' } })
}
