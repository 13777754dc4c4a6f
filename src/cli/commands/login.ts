// strata login / logout: credentials for a registry, checked against it,
// then saved with mode 0600 (registry/credentials.ts says where).
import readline from 'node:readline'
import type { CommandModule } from 'yargs'
import { RegistryClient } from '../../registry/registry-client.js'
import { saveCredentials, removeCredentials, savedHosts } from '../../registry/credentials.js'
import { errnoError } from '../../base/errno-error.js'
import { withRegistry, type RegistryArgs } from '../registry-options.js'

interface LoginArgs extends RegistryArgs { server: string, u?: string, p?: string, 'password-stdin'?: boolean }

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

/** Asks on the terminal; with `hidden`, what is typed is not echoed. */
async function ask (question: string, hidden = false): Promise<string> {
  if (!process.stdin.isTTY) throw errnoError('EINVAL', `${question.replace(/: $/, '')} needed: pass -u and --password-stdin (stdin is not a terminal)`)
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true })
  if (hidden) {
    const out = rl as unknown as { _writeToOutput: (s: string) => void }
    out._writeToOutput = (s: string) => { if (s.includes(question)) process.stderr.write(question) }
  }
  try {
    return await new Promise<string>((resolve) => { rl.question(question, resolve) })
  } finally {
    if (hidden) process.stderr.write('\n')
    rl.close()
  }
}

export const loginCommand: CommandModule<object, LoginArgs> = {
  command: 'login <server>',
  describe: 'Log in to a registry (the credentials are checked, then saved with mode 0600)',
  builder: (y) => withRegistry(y.positional('server', { type: 'string', demandOption: true, describe: 'host[:port]' })
    .option('u', { alias: 'username', type: 'string' })
    .option('p', { alias: 'password', type: 'string', describe: 'visible in ps and shell history: prefer --password-stdin' })
    .option('password-stdin', { type: 'boolean', describe: 'read the password from stdin' })
    .example('echo "$PW" | $0 login -u alice --password-stdin localhost:5000', '')),
  handler: async (a) => {
    if (a.p !== undefined && a['password-stdin']) throw errnoError('EINVAL', '--password and --password-stdin exclude each other')
    if (a.p !== undefined) process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n')
    const username = a.u ?? await ask('Username: ')
    const password = a['password-stdin'] ? await readStdin() : a.p ?? await ask('Password: ', true)
    if (!username || !password) throw errnoError('EINVAL', 'a username and a password are needed')
    const client = new RegistryClient(a.server, { insecure: a.insecure, credentials: { username, password } })
    await client.checkLogin()
    const file = saveCredentials(a.server, { username, password })
    process.stdout.write(`Credentials saved in ${file} (mode 0600)\nLogin Succeeded\n`)
  },
}

export const logoutCommand: CommandModule<object, { server?: string }> = {
  command: 'logout [server]',
  describe: 'Forget the credentials saved for a registry',
  builder: (y) => y.positional('server', { type: 'string', describe: 'host[:port]; may be left out when one registry is logged in' })
    .example('$0 logout localhost:5000', ''),
  handler: (a) => {
    // strata has no default registry (docker's is Docker Hub): with no
    // server, the only one logged in is meant; with several, say which.
    let server = a.server
    if (server === undefined) {
      const hosts = savedHosts()
      if (hosts.length === 0) { process.stdout.write('Not logged in to any registry\n'); return }
      if (hosts.length > 1) throw errnoError('EINVAL', `logged in to ${hosts.length} registries (${hosts.join(', ')}): name one, strata logout SERVER`)
      server = hosts[0]
    }
    if (removeCredentials(server)) process.stdout.write(`Removing login credentials for ${server}\n`)
    else process.stdout.write(`Not logged in to ${server}\n`)
  },
}
