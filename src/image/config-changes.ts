// `-c` changes, as docker commit/import take them: Dockerfile instructions
// CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR applied to an
// image config.
import { errnoError } from '../base/errno-error.js'
import type { ContainerConfig } from '../oci/oci-types.js'

/** Exec form (JSON array) or shell form (wrapped in /bin/sh -c). */
function command (arg: string): string[] {
  const s = arg.trim()
  if (s.startsWith('[')) {
    let v: unknown
    try { v = JSON.parse(s) } catch { throw errnoError('EINVAL', `bad JSON in ${s}`) }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw errnoError('EINVAL', `expected a JSON array of strings: ${s}`)
    return v
  }
  return ['/bin/sh', '-c', s]
}

/** KEY=VALUE pairs (quotes allowed) or the old "KEY VALUE" form. */
function pairs (arg: string): Array<[string, string]> {
  const out: Array<[string, string]> = []
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g
  if (!/^[^\s=]+=/.test(arg.trim())) {
    const m = /^(\S+)\s+(.*)$/.exec(arg.trim())
    if (!m) throw errnoError('EINVAL', `expected KEY=VALUE in "${arg}"`)
    return [[m[1], m[2]]]
  }
  for (const m of arg.matchAll(re)) {
    let v = m[2]
    if (v.startsWith('"')) v = JSON.parse(v) as string
    else if (v.startsWith("'")) v = v.slice(1, -1)
    out.push([m[1], v])
  }
  return out
}

export function applyChanges (base: ContainerConfig | undefined, changes: string[]): ContainerConfig {
  const c: ContainerConfig = JSON.parse(JSON.stringify(base ?? {})) as ContainerConfig
  for (const change of changes) {
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(change)
    if (!m) throw errnoError('EINVAL', `bad change "${change}": expected an instruction and its argument`)
    const [, instr, arg] = m
    switch (instr.toUpperCase()) {
      case 'CMD': c.Cmd = command(arg); break
      case 'ENTRYPOINT': c.Entrypoint = command(arg); break
      case 'ENV': {
        const env = new Map((c.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e]))
        for (const [k, v] of pairs(arg)) env.set(k, `${k}=${v}`)
        c.Env = [...env.values()]
        break
      }
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs(arg)) }
        break
      case 'EXPOSE':
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) }
        for (const p of arg.trim().split(/\s+/)) c.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {}
        break
      case 'USER': c.User = arg.trim(); break
      case 'WORKDIR': c.WorkingDir = arg.trim(); break
      case 'VOLUME': {
        c.Volumes = { ...(c.Volumes ?? {}) }
        const vs = arg.trim().startsWith('[') ? command(arg) : arg.trim().split(/\s+/)
        for (const v of vs) c.Volumes[v] = {}
        break
      }
      default:
        throw errnoError('EINVAL', `unsupported change instruction ${instr} (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR)`)
    }
  }
  return c
}
