// Reads bytes [start, end) of a blob with an HTTP Range request. A request
// that fails at its start (reset, 5xx, 429, expired token) is retried by the
// client; a body cut short or gone quiet (idleMs) is asked for again, from
// where it stopped, with backoff, `attempts` times in all. A registry that
// ignores Range (200 with the whole blob) is refused rather than read whole:
// lazy reads exist to avoid exactly that. Nothing is verified here; callers
// check what they got against a digest.
import { setTimeout as sleep } from 'node:timers/promises'
import { errnoError } from '../base/errno-error.js'
import { networkCode, type RegistryClient } from './registry-client.js'

export interface RangeOptions {
  attempts?: number
  backoffMs?: number
  idleMs?: number
  /** Counts the body bytes received (for a bench's "bytes fetched"). */
  onBytes?: (n: number) => void
}

export async function readRange (client: RegistryClient, repository: string, digest: string, start: number, end: number, o: RangeOptions = {}): Promise<Buffer> {
  const attempts = o.attempts ?? Number(process.env.STRATA_REGISTRY_ATTEMPTS ?? 5)
  const backoffMs = o.backoffMs ?? Number(process.env.STRATA_REGISTRY_BACKOFF_MS ?? 250)
  const idleMs = o.idleMs ?? Number(process.env.STRATA_REGISTRY_IDLE_MS ?? 30_000)
  const what = `bytes ${start}-${end - 1} of blob ${digest} of ${client.host}/${repository}`
  const out = Buffer.allocUnsafe(end - start)
  let got = 0
  let last: unknown = null
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const quiet = new AbortController()
    const timer = setTimeout(() => { quiet.abort() }, idleMs)
    try {
      const from = start + got
      const res = await client.request('GET', `/v2/${repository}/blobs/${digest}`, {
        headers: { Range: `bytes=${from}-${end - 1}` },
        scopes: [`repository:${repository}:pull`],
        // Retried here, from where the body stopped, not from the start.
        attempts: 1,
        signal: quiet.signal,
      })
      if (res.status === 200) {
        await res.body?.cancel()
        throw errnoError('ENOTSUP', `${client.host} ignores Range requests: lazy pulling needs them`)
      }
      if (res.status !== 206) throw await client.failure(res, `GET ${what}`)
      const range = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')
      if (!range || Number(range[1]) !== from) {
        await res.body?.cancel()
        throw errnoError('EPROTO', `${what}: the registry answered from byte ${range?.[1] ?? '?'}, not ${from}`)
      }
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        timer.refresh()
        if (got + chunk.length > out.length) throw errnoError('EPROTO', `${what}: the registry sent more than asked`)
        out.set(chunk, got)
        got += chunk.length
        o.onBytes?.(chunk.length)
      }
      if (got === out.length) return out
      last = errnoError('EIO', `${what}: the body ended after ${got} of ${out.length} bytes`)
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code === 'ENOTSUP' || code === 'EPROTO' || code === 'EACCES' || code === 'ENOENT') throw err
      last = code && /^E[A-Z]+$/.test(code) ? err : errnoError(networkCode(err), `${what}: ${(err as Error).message}`)
    } finally {
      clearTimeout(timer)
    }
    if (attempt < attempts) await sleep(backoffMs * 2 ** (attempt - 1))
  }
  const e = last as Error
  throw errnoError('EIO', `${what}: ${e?.message ?? 'failed'} (after ${attempts} tries)`)
}
