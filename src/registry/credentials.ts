// Registry credentials saved by `strata login`: a JSON file in docker's
// config.json shape ({"auths": {host: {"auth": base64(user:password)}}}),
// mode 0600 in a 0700 directory, replaced atomically. The file is
// STRATA_AUTH_FILE, or $XDG_CONFIG_HOME/strata/auth.json (~/.config/…).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'
import { writeFileAtomic } from '../base/atomic-file.js'

export interface Credentials {
  username: string
  password: string
}

interface AuthFile {
  auths: Record<string, { auth?: string }>
}

export function authFile (): string {
  if (process.env.STRATA_AUTH_FILE) return process.env.STRATA_AUTH_FILE
  const config = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config')
  return path.join(config, 'strata', 'auth.json')
}

function readAuthFile (file: string): AuthFile {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { auths: {} }
    throw err
  }
  try {
    const doc = JSON.parse(text) as AuthFile
    return { ...doc, auths: doc.auths ?? {} }
  } catch {
    throw errnoError('EBADMSG', `the credentials file ${file} is not valid JSON; fix or remove it`)
  }
}

export function loadCredentials (host: string): Credentials | null {
  const entry = readAuthFile(authFile()).auths[host]
  if (!entry?.auth) return null
  const text = Buffer.from(entry.auth, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon < 0) throw errnoError('EBADMSG', `the credentials for ${host} in ${authFile()} are malformed; run strata login ${host} again`)
  return { username: text.slice(0, colon), password: text.slice(colon + 1) }
}

export function saveCredentials (host: string, creds: Credentials): string {
  const file = authFile()
  const doc = readAuthFile(file)
  doc.auths[host] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  writeFileAtomic(file, JSON.stringify(doc, null, 2) + '\n', 0o600)
  return file
}

/** The registries credentials are saved for. */
export function savedHosts (): string[] {
  const { auths } = readAuthFile(authFile())
  return Object.keys(auths).filter((h) => auths[h]?.auth)
}

/** Returns whether there was anything to remove. */
export function removeCredentials (host: string): boolean {
  const file = authFile()
  const doc = readAuthFile(file)
  if (!doc.auths[host]) return false
  delete doc.auths[host]
  writeFileAtomic(file, JSON.stringify(doc, null, 2) + '\n', 0o600)
  return true
}
