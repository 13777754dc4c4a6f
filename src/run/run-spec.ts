// What a container's process is, from the image config and `strata run`'s
// flags, as docker computes it: argv = Entrypoint + (command or Cmd), Env
// (image, then -e), WorkingDir (-w wins), User (-u wins; names looked up in
// the image's own /etc/passwd and /etc/group).
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'
import type { ContainerConfig } from '../oci/oci-types.js'

export interface RunSpec {
  root: string
  argv: string[]
  env: string[]
  cwd: string
  uid: number
  gid: number
  groups: number[]
  hostname: string
}

export interface RunFlags {
  command?: string[]
  entrypoint?: string
  env?: string[]
  workdir?: string
  user?: string
  hostname: string
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

function table (root: string, file: string): string[][] {
  try {
    return fs.readFileSync(path.join(root, file), 'utf8').split('\n').filter(Boolean).map((l) => l.split(':'))
  } catch {
    return []
  }
}

/** uid, gid, supplementary groups and home for a docker USER string. */
export function resolveUser (root: string, user: string | undefined): { uid: number, gid: number, groups: number[], home: string } {
  const [u, g] = (user || '0').split(':')
  const passwd = table(root, 'etc/passwd')
  const groupTab = table(root, 'etc/group')
  const entry = /^\d+$/.test(u) ? passwd.find((p) => p[2] === u) : passwd.find((p) => p[0] === u)
  if (!entry && !/^\d+$/.test(u)) throw errnoError('EINVAL', `user "${u}" is not in the image's /etc/passwd`)
  const uid = entry ? Number(entry[2]) : Number(u)
  let gid = entry ? Number(entry[3]) : 0
  if (g !== undefined) {
    const ge = /^\d+$/.test(g) ? null : groupTab.find((x) => x[0] === g)
    if (!ge && !/^\d+$/.test(g)) throw errnoError('EINVAL', `group "${g}" is not in the image's /etc/group`)
    gid = ge ? Number(ge[2]) : Number(g)
  }
  const name = entry?.[0]
  const groups = [gid, ...groupTab.filter((x) => name && (x[3] ?? '').split(',').includes(name)).map((x) => Number(x[2]))]
  return { uid, gid, groups: [...new Set(groups)], home: entry?.[5] || '/' }
}

export function runSpec (root: string, config: ContainerConfig | undefined, flags: RunFlags): RunSpec {
  const c = config ?? {}
  const entry = flags.entrypoint !== undefined ? (flags.entrypoint ? [flags.entrypoint] : []) : c.Entrypoint ?? []
  const cmd = flags.command && flags.command.length ? flags.command : flags.entrypoint !== undefined ? [] : c.Cmd ?? []
  const argv = [...entry, ...cmd]
  if (argv.length === 0) throw errnoError('EINVAL', 'no command: the image has no Entrypoint or Cmd, and none was given')
  const user = resolveUser(root, flags.user ?? c.User)
  const env = new Map<string, string>()
  const put = (kv: string): void => { const i = kv.indexOf('='); env.set(i < 0 ? kv : kv.slice(0, i), kv) }
  put(DEFAULT_PATH)
  put(`HOSTNAME=${flags.hostname}`)
  put(`HOME=${user.home}`)
  for (const e of c.Env ?? []) put(e)
  for (const e of flags.env ?? []) put(e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`)
  if (process.stdin.isTTY && !env.has('TERM')) put(`TERM=${process.env.TERM ?? 'xterm'}`)
  return { root, argv, env: [...env.values()], cwd: flags.workdir ?? c.WorkingDir ?? '/', uid: user.uid, gid: user.gid, groups: user.groups, hostname: flags.hostname }
}
