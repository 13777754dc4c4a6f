// Linux capability names and numbers (linux/capability.h), docker's default
// set, and the --cap-add/--cap-drop/--privileged arithmetic as docker does
// it: names with or without CAP_, any case, "ALL"; drops apply after adds
// unless ALL is added.
import { errnoError } from '../base/errno-error.js'

export const CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
]

/** docker's (and runc's spec) default set. */
export const DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE']

function normalize (name: string): string {
  const n = name.toUpperCase().replace(/^CAP_/, '')
  if (n !== 'ALL' && !CAPS.includes(n)) throw errnoError('EINVAL', `unknown capability "${name}"`)
  return n
}

/** The capability names a container gets. */
export function capabilitySet (opts: { add?: string[], drop?: string[], privileged?: boolean }): string[] {
  if (opts.privileged) return [...CAPS]
  const add = (opts.add ?? []).map(normalize)
  const drop = (opts.drop ?? []).map(normalize)
  let set = new Set(add.includes('ALL') ? CAPS : DEFAULT_CAPS)
  if (drop.includes('ALL')) set = new Set()
  for (const a of add) if (a !== 'ALL') set.add(a)
  if (!add.includes('ALL')) for (const d of drop) set.delete(d)
  return CAPS.filter((c) => set.has(c))
}

export function capNumbers (names: string[]): number[] {
  return names.map((n) => CAPS.indexOf(n))
}

/** The hex mask /proc/PID/status shows for a set (CapEff etc.). */
export function capMask (names: string[]): string {
  let m = 0n
  for (const n of capNumbers(names)) m |= 1n << BigInt(n)
  return m.toString(16).padStart(16, '0')
}
