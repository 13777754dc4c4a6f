// What a container's process is, from the image config and `strata run`'s
// flags, as docker computes it: argv = Entrypoint + (command or Cmd), Env
// (image, then -e), WorkingDir (-w wins), User (-u wins; names looked up in
// the image's own /etc/passwd and /etc/group). Its isolation too, from
// docker's defaults and the flags: capabilities, seccomp, no_new_privs, the
// network namespace, volumes and tmpfs mounts, a read-only root, cgroups.
// Every flag is checked here, before anything is mounted or started.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'
import type { ContainerConfig } from '../oci/oci-types.js'
import { capabilitySet, capNumbers } from './capabilities.js'
import { compileProfile, DEFAULT_PROFILE, readProfile } from './seccomp-profile.js'
import { parseBytes } from './cgroups.js'

export interface RunSpec {
  root: string
  argv: string[]
  env: string[]
  cwd: string
  uid: number
  gid: number
  groups: number[]
  hostname: string
  /** Capability names (without CAP_) and their numbers. */
  capNames: string[]
  caps: number[]
  /** base64 of the compiled seccomp BPF; null: unconfined. */
  seccomp: string | null
  noNewPrivs: boolean
  privileged: boolean
  /** 'none': a network namespace of its own with lo up; 'host': the host's. */
  network: 'none' | 'host'
  binds: Array<{ source: string, target: string, readOnly: boolean }>
  tmpfs: Array<{ target: string, options: string }>
  readOnly: boolean
  /** cgroup.procs files the init joins (filled in by runContainer). */
  cgroupProcs: string[]
  tty: boolean
}

/** Isolation flags, as docker names them; all optional, docker's defaults otherwise. */
export interface IsolationFlags {
  capAdd?: string[]
  capDrop?: string[]
  privileged?: boolean
  /** seccomp=unconfined|FILE, no-new-privileges[=true|false] */
  securityOpt?: string[]
  network?: string
  /** HOST:CTR[:ro|rw] */
  volumes?: string[]
  /** type=bind|tmpfs,source=…,target=…,readonly */
  mounts?: string[]
  /** /path[:options] */
  tmpfs?: string[]
  readOnly?: boolean
  memory?: string
  pidsLimit?: number
  cpus?: number
  /** A pty for the process (devpts of its own, the controlling terminal). */
  tty?: boolean
}

export interface RunFlags extends IsolationFlags {
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
  // `-e NAME` passes this environment's value, and nothing when it has none (as docker).
  for (const e of flags.env ?? []) {
    if (e.includes('=')) put(e)
    else if (process.env[e] !== undefined) put(`${e}=${process.env[e]}`)
  }
  if (flags.tty && !env.has('TERM')) put(`TERM=${process.env.TERM ?? 'xterm'}`)
  return { root, argv, env: [...env.values()], cwd: flags.workdir || c.WorkingDir || '/', uid: user.uid, gid: user.gid, groups: user.groups, hostname: flags.hostname, ...isolation(flags) }
}

type Isolation = Omit<RunSpec, 'root' | 'argv' | 'env' | 'cwd' | 'uid' | 'gid' | 'groups' | 'hostname'>

function absolute (p: string, what: string): string {
  if (!p.startsWith('/')) throw errnoError('EINVAL', `${what} "${p}": the path must be absolute`)
  return path.normalize(p)
}

function bindSource (p: string, what: string): string {
  const src = absolute(p, what)
  if (!fs.existsSync(src)) throw errnoError('ENOENT', `${what}: no file or directory ${src} on this host`)
  return src
}

/** docker's --mount key=value list. */
function parseMount (m: string): { type: string, source?: string, target: string, readOnly: boolean, options: string } {
  const kv = new Map<string, string>()
  for (const part of m.split(',')) {
    const i = part.indexOf('=')
    kv.set(i < 0 ? part : part.slice(0, i), i < 0 ? 'true' : part.slice(i + 1))
  }
  const type = kv.get('type') ?? 'volume'
  const target = kv.get('target') ?? kv.get('destination') ?? kv.get('dst')
  if (!target) throw errnoError('EINVAL', `--mount ${m}: no target`)
  const ro = kv.get('readonly') ?? kv.get('ro')
  const opts = [kv.has('tmpfs-size') ? `size=${parseBytes(kv.get('tmpfs-size')!)}` : '', kv.has('tmpfs-mode') ? `mode=${kv.get('tmpfs-mode')}` : ''].filter(Boolean).join(',')
  if (type !== 'bind' && type !== 'tmpfs') throw errnoError('EINVAL', `--mount ${m}: type ${type} is not supported (bind or tmpfs)`)
  return { type, source: kv.get('source') ?? kv.get('src'), target, readOnly: ro !== undefined && ro !== 'false' && ro !== '0', options: opts }
}

export function isolation (flags: IsolationFlags): Isolation {
  const privileged = !!flags.privileged
  const capNames = capabilitySet({ add: flags.capAdd, drop: flags.capDrop, privileged })
  let seccompFile: string | null | undefined
  let noNewPrivs = false
  for (const o of flags.securityOpt ?? []) {
    const [k, v] = o.includes('=') ? [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)] : o.split(':') as [string, string?]
    if (k === 'seccomp') seccompFile = v === 'unconfined' ? null : v
    else if (k === 'no-new-privileges') noNewPrivs = v === undefined || v === 'true'
    else throw errnoError('EINVAL', `--security-opt ${o}: supported are seccomp=unconfined|FILE and no-new-privileges`)
  }
  let seccomp: string | null = null
  if (seccompFile !== null && !(privileged && seccompFile === undefined)) {
    seccomp = compileProfile(seccompFile ? readProfile(seccompFile) : DEFAULT_PROFILE, capNames).toString('base64')
  }
  const network = flags.network ?? 'none'
  if (network !== 'none' && network !== 'host') {
    throw errnoError('EINVAL', `--network ${network}: only none (the default: a network namespace with lo only, since strata sets up no bridge) and host are supported`)
  }
  const binds: Isolation['binds'] = []
  const tmpfs: Isolation['tmpfs'] = []
  for (const v of flags.volumes ?? []) {
    const parts = v.split(':')
    if (parts.length < 2 || parts.length > 3) throw errnoError('EINVAL', `-v ${v}: expected HOST:CONTAINER[:ro]`)
    if (!parts[0].startsWith('/')) throw errnoError('EINVAL', `-v ${v}: named volumes are not supported; give an absolute host path`)
    const mode = parts[2] ?? 'rw'
    if (!mode.split(',').every((x) => ['ro', 'rw', 'z', 'Z'].includes(x))) throw errnoError('EINVAL', `-v ${v}: unknown mode ${mode}`)
    binds.push({ source: bindSource(parts[0], '-v'), target: absolute(parts[1], '-v'), readOnly: mode.split(',').includes('ro') })
  }
  for (const m of flags.mounts ?? []) {
    const x = parseMount(m)
    if (x.type === 'bind') binds.push({ source: bindSource(x.source ?? '', '--mount source'), target: absolute(x.target, '--mount target'), readOnly: x.readOnly })
    else tmpfs.push({ target: absolute(x.target, '--mount target'), options: ['nosuid', 'nodev', 'noexec', x.options, x.readOnly ? 'ro' : ''].filter(Boolean).join(',') })
  }
  for (const t of flags.tmpfs ?? []) {
    const i = t.indexOf(':')
    tmpfs.push({ target: absolute(i < 0 ? t : t.slice(0, i), '--tmpfs'), options: i < 0 ? 'nosuid,nodev,noexec' : t.slice(i + 1) })
  }
  if (flags.memory !== undefined) parseBytes(flags.memory)
  if (flags.pidsLimit !== undefined && !Number.isInteger(flags.pidsLimit)) throw errnoError('EINVAL', `--pids-limit ${flags.pidsLimit}: not an integer`)
  if (flags.cpus !== undefined && !(flags.cpus > 0)) throw errnoError('EINVAL', `--cpus ${flags.cpus}: must be a positive number`)
  return { capNames, caps: capNumbers(capNames), seccomp, noNewPrivs, privileged, network, binds, tmpfs, readOnly: !!flags.readOnly, cgroupProcs: [], tty: !!flags.tty }
}
