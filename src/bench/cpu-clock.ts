// The CPU clocks the bench reads around its runs, from /proc:
// - the host's steal: time this VM's vCPUs were ready to run while the
//   hypervisor ran something else. It lands on wall clocks, not on CPU
//   clocks, and it is uneven: a FUSE daemon that hands each request between
//   threads loses more to it than the kernel's overlay does, so a row taken
//   under heavy steal can mislead even as a ratio within one run;
// - the CPU time of a timed command (user + system of the children we
//   waited for; the kernel's overlay does its work in the caller, as system
//   time) and of a FUSE daemon, which is not our child.
// Both ride along with the wall clock; neither replaces it.

import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'

/** Ticks of all CPUs since boot, from the `cpu` line of /proc/stat. */
export interface HostTicks {
  steal: number
  total: number
}

export function parseHostTicks (procStat: string): HostTicks {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '))
  if (line === undefined) throw new Error('no "cpu" line in /proc/stat')
  // user nice system idle iowait irq softirq steal [guest guest_nice]: guest
  // time is counted in user already, so the sum stops at steal.
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number)
  if (f.length < 8 || f.some((x) => !Number.isFinite(x))) throw new Error(`/proc/stat: cannot read "${line}"`)
  return { steal: f[7], total: f.reduce((a, b) => a + b, 0) }
}

export async function hostTicks (): Promise<HostTicks> {
  return parseHostTicks(await readFile('/proc/stat', 'utf8'))
}

/** Steal as a share of all CPU time between two readings (0 when no tick passed). */
export function stealShare (from: HostTicks, to: HostTicks): number {
  const total = to.total - from.total
  return total > 0 ? (to.steal - from.steal) / total : 0
}

/**
 * utime + stime (own: true) or cutime + cstime (own: false: children waited
 * for) of a /proc/PID/stat text, in ticks. The command name may hold spaces
 * and parentheses: the fields are counted from the last ')'.
 */
export function parseProcessTicks (stat: string, own: boolean): number {
  const end = stat.lastIndexOf(')')
  if (end < 0) throw new Error(`not a /proc/PID/stat line: "${stat.slice(0, 80)}"`)
  // After the name: state is field 3; utime 14, stime 15, cutime 16, cstime 17.
  const f = stat.slice(end + 2).split(' ')
  const [a, b] = own ? [f[11], f[12]] : [f[13], f[14]]
  const ticks = Number(a) + Number(b)
  if (!Number.isFinite(ticks)) throw new Error(`/proc/PID/stat: no CPU times in "${stat.slice(0, 80)}"`)
  return ticks
}

let ticksPerSecond: number | undefined
/** USER_HZ, the unit of /proc's tick fields (100 on x86 and arm, not on every architecture). */
function hz (): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  return ticksPerSecond
}

/** CPU seconds used so far by `pid` (all its threads); 0 for a process gone meanwhile. */
export async function processCpuSeconds (pid: number): Promise<number> {
  try {
    return parseProcessTicks(await readFile(`/proc/${pid}/stat`, 'utf8'), true) / hz()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return 0
    throw err
  }
}

/** CPU seconds used so far by this process's children that have been waited for (and theirs). */
export async function childrenCpuSeconds (): Promise<number> {
  return parseProcessTicks(await readFile('/proc/self/stat', 'utf8'), false) / hz()
}
