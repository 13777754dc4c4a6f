// A container's cgroups: one directory per container (strata/<id>) in each
// v1 hierarchy it needs, or in the unified (v2) tree on a v2-only host. The
// devices controller always: docker's default device rules are what keeps
// CAP_MKNOD from opening the host's disks. Limits (--memory, --pids-limit,
// --cpus) are written where the host's hierarchy allows them; asked-for
// limits that cannot be set stop the run with a message before it starts.
// The container's init joins by writing 0 to each cgroup.procs listed.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'

const ROOT = '/sys/fs/cgroup'

export interface Limits { memory?: number, pidsLimit?: number, cpus?: number }

/** docker's default device rules (runc's AllowedDevices). */
const DEVICE_RULES = ['c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm',
  'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm', 'c 10:200 rwm']

export interface Cgroups { procs: string[], dirs: string[] }

function unified (): boolean {
  return fs.existsSync(path.join(ROOT, 'cgroup.controllers'))
}

/** Parses docker's memory sizes: 512m, 1g, 100000 (bytes). */
export function parseBytes (s: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)b?$/i.exec(s.trim())
  if (!m) throw errnoError('EINVAL', `invalid size "${s}" (e.g. 512m, 1g)`)
  const mul = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as 'k']
  return Math.floor(Number(m[1]) * mul)
}

function write (dir: string, file: string, value: string): void {
  try {
    fs.writeFileSync(path.join(dir, file), value)
  } catch (err) {
    throw errnoError((err as { code?: string }).code ?? 'EIO', `cannot set ${file}=${value} in ${dir}: ${(err as Error).message}`)
  }
}

/** Creates the container's cgroups; undo with removeCgroups, also on failure. */
export function createCgroups (id: string, limits: Limits, privileged: boolean): Cgroups {
  const cg: Cgroups = { procs: [], dirs: [] }
  const make = (base: string): string | null => {
    if (!fs.existsSync(base)) return null
    const dir = path.join(base, 'strata', id)
    fs.mkdirSync(dir, { recursive: true })
    cg.dirs.push(dir)
    cg.procs.push(path.join(dir, 'cgroup.procs'))
    return dir
  }
  try {
    if (unified()) {
      const dir = make(ROOT)!
      const ctl = fs.readFileSync(path.join(ROOT, 'cgroup.controllers'), 'utf8')
      for (const [k, need] of [['memory', limits.memory], ['pids', limits.pidsLimit], ['cpu', limits.cpus]] as const) {
        if (need !== undefined && !ctl.includes(k)) throw errnoError('ENOTSUP', `--${k === 'pids' ? 'pids-limit' : k === 'cpu' ? 'cpus' : k}: this host's cgroup v2 tree has no ${k} controller`)
      }
      if (limits.memory !== undefined) write(dir, 'memory.max', String(limits.memory))
      if (limits.pidsLimit !== undefined) write(dir, 'pids.max', limits.pidsLimit > 0 ? String(limits.pidsLimit) : 'max')
      if (limits.cpus !== undefined) write(dir, 'cpu.max', `${Math.round(limits.cpus * 100000)} 100000`)
      // v2 has no devices files (runc loads a BPF program instead): say so
      // rather than pretend.
      if (!privileged) process.stderr.write('strata: warning: cgroup v2 only host: no device rules (the image\'s device nodes are usable)\n')
      return cg
    }
    const devices = make(path.join(ROOT, 'devices'))
    if (devices && !privileged) {
      write(devices, 'devices.deny', 'a')
      for (const r of DEVICE_RULES) write(devices, 'devices.allow', r)
    }
    const need = (ctl: string, flag: string): string => {
      const d = make(path.join(ROOT, ctl))
      if (!d) throw errnoError('ENOTSUP', `${flag}: this host has no ${ctl} cgroup hierarchy at ${ROOT}/${ctl}`)
      return d
    }
    if (limits.memory !== undefined) {
      const d = need('memory', '--memory')
      write(d, 'memory.limit_in_bytes', String(limits.memory))
      // docker's default: swap as much again as memory; here none, so the limit is the limit.
      try { write(d, 'memory.memsw.limit_in_bytes', String(limits.memory)) } catch { /* no swap accounting */ }
    }
    if (limits.pidsLimit !== undefined) write(need('pids', '--pids-limit'), 'pids.max', limits.pidsLimit > 0 ? String(limits.pidsLimit) : 'max')
    if (limits.cpus !== undefined) {
      const d = need('cpu', '--cpus')
      write(d, 'cpu.cfs_period_us', '100000')
      write(d, 'cpu.cfs_quota_us', String(Math.round(limits.cpus * 100000)))
    }
    return cg
  } catch (err) {
    void removeCgroups(cg)
    throw err
  }
}

/** Removes the directories once no process is left in them (retries briefly). */
export async function removeCgroups (cg: Cgroups): Promise<void> {
  for (const d of cg.dirs.reverse()) {
    for (let i = 0; i < 50; i++) {
      try { fs.rmdirSync(d); break } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') break
        // A process still exiting keeps the cgroup busy for a moment.
        try { for (const pid of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL') } catch { /* gone */ }
        await new Promise((r) => setTimeout(r, 20))
      }
    }
  }
}
