// Downloads one blob to a file, hashing as it goes. A connection lost
// mid-blob resumes with a Range request where the registry honours it, and
// restarts from zero where it does not; a body longer or shorter than the
// descriptor, or one whose digest differs, is refused. The file is the
// caller's staging file: nothing here is visible in the store.
import fs from 'node:fs'
import crypto from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { errnoError } from '../base/errno-error.js'
import type { Descriptor } from '../oci/oci-types.js'
import { networkCode, type RegistryClient } from './registry-client.js'
import { SMALL_LIMIT, readLimited } from './read-limited.js'

export interface DownloadOptions {
  /** Bytes so far of the blob's size. */
  onBytes?: (done: number, total: number) => void
  /** Tries after a lost connection (default 5). */
  attempts?: number
  /** A connection that sends nothing for this long counts as lost (default 60 s). */
  idleMs?: number
  backoffMs?: number
}

export async function downloadBlob (client: RegistryClient, repository: string, desc: Descriptor, file: string, o: DownloadOptions = {}): Promise<void> {
  const attempts = o.attempts ?? Number(process.env.STRATA_REGISTRY_ATTEMPTS ?? 5)
  const backoffMs = o.backoffMs ?? Number(process.env.STRATA_REGISTRY_BACKOFF_MS ?? 250)
  const idleMs = o.idleMs ?? Number(process.env.STRATA_REGISTRY_IDLE_MS ?? 60_000)
  const what = `blob ${desc.digest} of ${client.host}/${repository}`
  const fh = await fs.promises.open(file, 'w', 0o600)
  let hash = crypto.createHash('sha256')
  let got = 0
  try {
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = {}
      if (got > 0) headers.Range = `bytes=${got}-`
      // A stalled connection would otherwise wait forever: abort it when it
      // goes quiet, and resume as after a reset.
      const quiet = new AbortController()
      const timer = setTimeout(() => { quiet.abort() }, idleMs)
      let broken: unknown = null
      try {
        const res = await client.request('GET', `/v2/${repository}/blobs/${desc.digest}`, { headers, scopes: [`repository:${repository}:pull`], signal: quiet.signal })
        if (res.status === 206) {
          const range = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')
          if (!range || Number(range[1]) !== got) {
            await res.body?.cancel()
            throw errnoError('EPROTO', `${what}: the registry resumed at ${range?.[1] ?? '?'} when asked for byte ${got}`)
          }
        } else if (res.status === 200) {
          if (got > 0) {
            // No Range support: start over.
            await fh.truncate(0)
            hash = crypto.createHash('sha256')
            got = 0
          }
        } else {
          throw await client.failure(res, `download of ${what}`)
        }
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            timer.refresh()
            if (got + chunk.length > desc.size) throw errnoError('EBADMSG', `${what}: the registry sent more than its ${desc.size} bytes`)
            await fh.write(chunk, 0, chunk.length, got)
            hash.update(chunk)
            got += chunk.length
            o.onBytes?.(got, desc.size)
          }
        } catch (err) {
          if ((err as { code?: string }).code === 'EBADMSG') throw err
          broken = err
        }
      } finally {
        clearTimeout(timer)
      }
      if (broken !== null) {
        if (attempt >= attempts) throw errnoError(networkCode(broken), `${what}: the connection broke at byte ${got} of ${desc.size}, ${attempt} times`)
        await sleep(backoffMs * 2 ** (attempt - 1))
        continue
      }
      if (got < desc.size) {
        if (attempt >= attempts) throw errnoError('EBADMSG', `${what}: truncated at ${got} of ${desc.size} bytes`)
        continue
      }
      break
    }
    const digest = 'sha256:' + hash.digest('hex')
    if (digest !== desc.digest) throw errnoError('EBADMSG', `${what}: digest mismatch, got ${digest}: the download is corrupt; nothing was stored`)
  } finally {
    await fh.close()
  }
}

/** A small blob (a config) read whole into memory, verified. */
export async function fetchSmallBlob (client: RegistryClient, repository: string, desc: Descriptor, limit = SMALL_LIMIT): Promise<Buffer> {
  const what = `blob ${desc.digest} of ${client.host}/${repository}`
  if (desc.size > limit) throw errnoError('EFBIG', `${what}: ${desc.size} bytes is too big for a config`)
  for (let attempt = 1; ; attempt++) {
    const res = await client.request('GET', `/v2/${repository}/blobs/${desc.digest}`, { scopes: [`repository:${repository}:pull`] })
    if (!res.ok) throw await client.failure(res, `download of ${what}`)
    let buf: Buffer
    try {
      // No more than the descriptor says is read, whatever the body holds.
      buf = await readLimited(res, desc.size, what)
    } catch (err) {
      if ((err as { code?: string }).code === 'EFBIG') throw errnoError('EBADMSG', `${what}: the registry sent more than its ${desc.size} bytes`)
      if (attempt < 3) continue
      throw errnoError(networkCode(err), `${what}: the connection broke, ${attempt} times`)
    }
    const digest = 'sha256:' + crypto.createHash('sha256').update(buf).digest('hex')
    if (digest === desc.digest && buf.length === desc.size) return buf
    if (attempt >= 2) throw errnoError('EBADMSG', `${what}: digest mismatch (got ${digest}, ${buf.length} bytes): corrupt; nothing was stored`)
  }
}
