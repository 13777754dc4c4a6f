// One registry host, spoken to through the OCI distribution API with Node's
// fetch: the scheme (HTTPS; plain HTTP only for loopback and registries
// marked insecure), authentication (none, basic, or the bearer-token flow
// with tokens cached per scope), and retries with backoff on connection
// resets, 429 and 5xx. Requests with a body take a body factory, so a retry
// can send it again.
import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { errnoError, type ErrnoError } from '../base/errno-error.js'
import { caCertsHeld } from '../base/held-ca-certs.js'
import { parseChallenge, type Challenge } from './auth-challenge.js'
import { isInsecure } from './registry-ref.js'
import type { Credentials } from './credentials.js'

export interface ClientOptions {
  /** Allow plain HTTP (loopback hosts always may). */
  insecure?: boolean
  credentials?: Credentials | null
  /** Tries of one request on a reset connection, 429 or 5xx (default 5). */
  attempts?: number
  /** The first wait between tries in ms; it doubles each time (default 250). */
  backoffMs?: number
}

export type RequestBody = Buffer | string | (() => Readable)

export interface RequestOptions {
  headers?: Record<string, string>
  body?: RequestBody
  /** Token scopes the request needs, e.g. repository:a/b:pull. */
  scopes?: string[]
  /** Tries on resets and 5xx; callers that resume a transfer themselves pass 1. */
  attempts?: number
  signal?: AbortSignal
}

const USER_AGENT = 'strata (+https://github.com/strata)'

/** The errno code of a failed fetch, from its cause (ECONNRESET, ECONNREFUSED, …). */
export function networkCode (err: unknown): string {
  if ((err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError') return 'ETIMEDOUT'
  const cause = (err as { cause?: { code?: string } }).cause
  return cause?.code ?? (err as { code?: string }).code ?? 'ECONNRESET'
}

function networkMessage (err: unknown): string {
  const cause = (err as { cause?: Error }).cause
  return cause?.message ?? (err as Error).message
}

/** The registry's JSON error list ({"errors":[{code,message,detail}]}) as one line. */
async function registryErrors (res: Response): Promise<string> {
  const text = await res.text().catch(() => '')
  try {
    const doc = JSON.parse(text) as { errors?: Array<{ code?: string, message?: string }> }
    const list = (doc.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': '))
    if (list.length) return list.join('; ')
  } catch { /* not JSON */ }
  return text.trim().slice(0, 200) || res.statusText
}

export class RegistryClient {
  private base: string | null = null
  private challenge: Challenge | null = null
  /** Per scope set; a promise, so that requests made at once share one token request. */
  private readonly tokens = new Map<string, Promise<string>>()
  private readonly attempts: number
  private readonly backoffMs: number

  constructor (readonly host: string, private readonly opts: ClientOptions = {}) {
    // No errno code: a bug of bin/strata's routing, said as such (cli/report.ts).
    if (caCertsHeld) throw new Error(`this command was started without NODE_EXTRA_CA_CERTS, yet talks to ${host} (bin/strata's list of local commands is wrong)`)
    this.attempts = opts.attempts ?? Number(process.env.STRATA_REGISTRY_ATTEMPTS ?? 5)
    this.backoffMs = opts.backoffMs ?? Number(process.env.STRATA_REGISTRY_BACKOFF_MS ?? 250)
  }

  /** Finds the scheme and the auth challenge (GET /v2/). */
  async connect (): Promise<void> {
    if (this.base) return
    const schemes = isInsecure(this.host, this.opts.insecure) ? ['https', 'http'] : ['https']
    let last: unknown
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      for (const scheme of schemes) {
        let res: Response
        try {
          res = await fetch(`${scheme}://${this.host}/v2/`, { headers: { 'User-Agent': USER_AGENT }, signal: AbortSignal.timeout(30_000) })
        } catch (err) {
          last = err
          continue
        }
        await res.body?.cancel()
        if (res.status !== 200 && res.status !== 401) {
          if (res.status >= 500) { last = errnoError('EIO', `registry ${this.host} answered ${res.status} ${res.statusText}`); continue }
          throw errnoError('EPROTO', `${scheme}://${this.host}/v2/ answered ${res.status} ${res.statusText}: not an OCI distribution registry`)
        }
        this.base = `${scheme}://${this.host}`
        this.challenge = res.status === 401 ? parseChallenge(res.headers.get('www-authenticate')) : null
        return
      }
      if (attempt < this.attempts) await sleep(this.backoffMs * 2 ** (attempt - 1))
    }
    if ((last as ErrnoError)?.code === 'EIO') throw last as Error
    const plain = schemes.includes('http') ? '' : ` (plain HTTP is used only for loopback registries and those marked insecure: --insecure or STRATA_INSECURE_REGISTRIES=${this.host})`
    throw errnoError(networkCode(last), `cannot reach registry ${this.host}: ${networkMessage(last)}${plain}`)
  }

  url (p: string): string {
    if (!this.base) throw errnoError('EINVAL', 'registry client used before connect()')
    return new URL(p, this.base).toString()
  }

  private basic (): string | null {
    const c = this.opts.credentials
    return c ? 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64') : null
  }

  private token (scopes: string[]): Promise<string> {
    const key = [...new Set(scopes)].sort().join(' ')
    let token = this.tokens.get(key)
    if (!token) {
      token = this.fetchToken(key)
      this.tokens.set(key, token)
      token.catch(() => this.tokens.delete(key))
    }
    return token
  }

  private async fetchToken (key: string): Promise<string> {
    const realm = this.challenge?.params.realm
    if (!realm) throw errnoError('EPROTO', `registry ${this.host} asked for a bearer token but named no realm`)
    const url = new URL(realm)
    if (this.challenge?.params.service) url.searchParams.set('service', this.challenge.params.service)
    for (const s of key.split(' ').filter(Boolean)) url.searchParams.append('scope', s)
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT }
    const basic = this.basic()
    if (basic) headers.Authorization = basic
    let res: Response
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) })
    } catch (err) {
      throw errnoError(networkCode(err), `cannot reach the token server ${url.origin} of ${this.host}: ${networkMessage(err)}`)
    }
    if (res.status === 401 || res.status === 403) {
      throw errnoError('EACCES', `${this.host}: ${basic ? 'the token server refused the credentials' : 'the token server wants credentials'} (${await registryErrors(res)}); strata login ${this.host}`)
    }
    if (!res.ok) throw errnoError('EPROTO', `${this.host}: the token server answered ${res.status} (${await registryErrors(res)})`)
    const doc = await res.json().catch(() => ({})) as { token?: string, access_token?: string }
    const token = doc.token ?? doc.access_token
    if (!token) throw errnoError('EPROTO', `${this.host}: the token server's answer has no token`)
    return token
  }

  private async authorization (scopes: string[]): Promise<string | null> {
    switch (this.challenge?.scheme) {
      case undefined: return null
      case 'basic': return this.basic()
      case 'bearer': return 'Bearer ' + await this.token(scopes)
      default: throw errnoError('ENOTSUP', `registry ${this.host} wants "${this.challenge?.scheme}" authentication, which strata does not speak`)
    }
  }

  async request (method: string, p: string, o: RequestOptions = {}): Promise<Response> {
    await this.connect()
    const url = this.url(p)
    const attempts = o.attempts ?? this.attempts
    let scopes = o.scopes ?? []
    let reauthorized = false
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...o.headers }
      const auth = await this.authorization(scopes)
      if (auth) headers.Authorization = auth
      const body = typeof o.body === 'function' ? o.body() : o.body
      let res: Response
      try {
        res = await fetch(url, { method, headers, body, duplex: 'half', redirect: 'follow', signal: o.signal } as RequestInit)
      } catch (err) {
        if (typeof body === 'object' && body && 'destroy' in body) (body).destroy()
        if (attempt < attempts && !o.signal?.aborted) { await sleep(this.backoffMs * 2 ** (attempt - 1)); continue }
        throw errnoError(networkCode(err), `${method} ${url}: ${networkMessage(err)} (after ${attempt} tries)`)
      }
      if (res.status === 401 && !reauthorized) {
        // A first 401 may just mean the token lacks this scope (or the
        // challenge changed): take the challenge as it is now and try again.
        reauthorized = true
        const challenge = parseChallenge(res.headers.get('www-authenticate'))
        await res.body?.cancel()
        if (challenge) {
          this.challenge = challenge
          if (challenge.params.scope) scopes = [...scopes, ...challenge.params.scope.split(' ')]
          this.tokens.clear()
          attempt--
          continue
        }
      }
      if ((res.status >= 500 || res.status === 429) && attempt < attempts) {
        await res.body?.cancel()
        await sleep(this.backoffMs * 2 ** (attempt - 1))
        continue
      }
      return res
    }
  }

  /** Proves the credentials: GET /v2/ with them (through a token without scopes, for bearer auth). */
  async checkLogin (): Promise<void> {
    const res = await this.request('GET', '/v2/')
    await res.body?.cancel()
    if (res.status === 401 || res.status === 403) throw errnoError('EACCES', `login to ${this.host} failed: incorrect username or password`)
    if (res.status !== 200) throw await this.failure(res, 'login')
  }

  /** An error for an answer the caller did not expect, with the registry's own words. */
  async failure (res: Response, what: string): Promise<ErrnoError> {
    const words = await registryErrors(res)
    const code = res.status === 404 ? 'ENOENT' : res.status === 401 || res.status === 403 ? 'EACCES' : res.status === 400 || res.status === 405 ? 'EINVAL' : 'EIO'
    const hint = code === 'EACCES' ? (this.opts.credentials ? ' (the credentials lack access)' : `; strata login ${this.host}`) : ''
    return errnoError(code, `${what}: ${this.host} answered ${res.status} (${words})${hint}`)
  }
}
