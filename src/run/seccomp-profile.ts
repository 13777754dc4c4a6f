// Seccomp for containers: docker's JSON profile format (--security-opt
// seccomp=FILE) resolved against the container's capabilities, kernel and
// architecture, and compiled to BPF by libseccomp in the addon.
//
// The default profile is written as a deny list with the effect of docker's
// default (an allow list of ~350 calls): the calls that docker's profile
// leaves out, or allows only with a capability, fail with EPERM — module
// loading, mount and the new mount API, namespaces (unshare, setns, clone
// with CLONE_NEW*), keyrings, kexec/reboot, clock setting, bpf,
// perf_event_open, open_by_handle_at, userfaultfd, io_uring and the like.
// A deny list keeps calls newer than the list working, as docker's own
// profile does for calls it lists by kernel version. Only the native
// architecture is allowed (any other, e.g. int 0x80 on x86-64, kills), so a
// 32-bit entry cannot go around the list.
import fs from 'node:fs'
import os from 'node:os'
import { errnoError } from '../base/errno-error.js'
import { containerNative, type SeccompRule } from '../native/container-binding.js'

export interface SeccompArg { index: number, value: number, valueTwo?: number, op: string }
export interface SeccompSyscall {
  names?: string[]
  name?: string
  action: string
  errnoRet?: number
  args?: SeccompArg[] | null
  includes?: { caps?: string[], arches?: string[], minKernel?: string }
  excludes?: { caps?: string[], arches?: string[], minKernel?: string }
}
export interface SeccompProfile {
  defaultAction: string
  defaultErrnoRet?: number
  architectures?: string[]
  archMap?: Array<{ architecture: string, subArchitectures?: string[] }>
  syscalls?: SeccompSyscall[] | null
}

const EPERM = 1
const ENOSYS = 38
const CLONE_NS = { NEWNS: 0x20000, NEWCGROUP: 0x2000000, NEWUTS: 0x4000000, NEWIPC: 0x8000000, NEWUSER: 0x10000000, NEWPID: 0x20000000, NEWNET: 0x40000000, NEWTIME: 0x80 }

const deny = (names: string[], caps?: string[], errnoRet = EPERM): SeccompSyscall =>
  ({ names, action: 'SCMP_ACT_ERRNO', errnoRet, ...(caps ? { excludes: { caps } } : {}) })

export const DEFAULT_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [
    deny(['add_key', 'keyctl', 'request_key', 'uselib', 'userfaultfd', 'ustat', 'sysfs', '_sysctl', 'nfsservctl',
      'vm86', 'vm86old', 'create_module', 'get_kernel_syms', 'query_module', 'io_uring_setup', 'io_uring_enter',
      'io_uring_register', 'lookup_dcookie']),
    deny(['mount', 'umount', 'umount2', 'pivot_root', 'setns', 'unshare', 'fsopen', 'fsconfig', 'fsmount', 'fspick',
      'move_mount', 'open_tree', 'mount_setattr', 'quotactl', 'quotactl_fd', 'swapon', 'swapoff', 'fanotify_init',
      'name_to_handle_at', 'setdomainname', 'sethostname', 'vhangup'], ['SYS_ADMIN']),
    // clone with a CLONE_NEW* flag; clone3's flags are behind a pointer that
    // seccomp cannot read, so it reports ENOSYS and libc falls back to clone.
    ...Object.values(CLONE_NS).map((f): SeccompSyscall => ({ names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [{ index: 0, value: f, valueTwo: f, op: 'SCMP_CMP_MASKED_EQ' }], excludes: { caps: ['SYS_ADMIN'] } })),
    deny(['clone3'], ['SYS_ADMIN'], ENOSYS),
    deny(['bpf'], ['SYS_ADMIN', 'BPF']),
    deny(['perf_event_open'], ['SYS_ADMIN', 'PERFMON']),
    deny(['init_module', 'finit_module', 'delete_module'], ['SYS_MODULE']),
    deny(['reboot', 'kexec_load', 'kexec_file_load'], ['SYS_BOOT']),
    deny(['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64', 'adjtimex'], ['SYS_TIME']),
    deny(['acct'], ['SYS_PACCT']),
    deny(['iopl', 'ioperm'], ['SYS_RAWIO']),
    deny(['open_by_handle_at'], ['DAC_READ_SEARCH']),
    deny(['syslog'], ['SYSLOG']),
    deny(['move_pages', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'], ['SYS_NICE']),
    deny(['process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd'], ['SYS_PTRACE']),
  ],
}

/** docker's name for this machine's architecture, and libseccomp's arch names. */
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' }
const ARCH_NAMES: Record<string, string> = { SCMP_ARCH_X86_64: 'x86_64', SCMP_ARCH_X86: 'x86', SCMP_ARCH_X32: 'x32', SCMP_ARCH_AARCH64: 'aarch64', SCMP_ARCH_ARM: 'arm' }

function kernelAtLeast (min: string): boolean {
  const have = os.release().split(/[.-]/).map(Number)
  const want = min.split('.').map(Number)
  for (let i = 0; i < want.length; i++) {
    if ((have[i] ?? 0) !== want[i]) return (have[i] ?? 0) > want[i]
  }
  return true
}

function applies (s: SeccompSyscall, caps: Set<string>): boolean {
  const arch = GOARCH[process.arch] ?? process.arch
  const inc = s.includes ?? {}
  const exc = s.excludes ?? {}
  const capName = (c: string): string => c.toUpperCase().replace(/^CAP_/, '')
  if (inc.caps?.length && !inc.caps.every((c) => caps.has(capName(c)))) return false
  if (inc.arches?.length && !inc.arches.includes(arch)) return false
  if (inc.minKernel && !kernelAtLeast(inc.minKernel)) return false
  if (exc.caps?.length && exc.caps.some((c) => caps.has(capName(c)))) return false
  if (exc.arches?.length && exc.arches.includes(arch)) return false
  if (exc.minKernel && kernelAtLeast(exc.minKernel)) return false
  return true
}

/** Reads a docker seccomp profile file; a bad one stops before anything runs. */
export function readProfile (file: string): SeccompProfile {
  let p: SeccompProfile
  try {
    p = JSON.parse(fs.readFileSync(file, 'utf8')) as SeccompProfile
  } catch (err) {
    throw errnoError('EINVAL', `seccomp profile ${file}: ${(err as Error).message}`)
  }
  if (typeof p?.defaultAction !== 'string') throw errnoError('EINVAL', `seccomp profile ${file}: no defaultAction`)
  return p
}

/** The BPF program for a profile and a capability set (names without CAP_). */
export function compileProfile (p: SeccompProfile, capNames: string[]): Buffer {
  const caps = new Set(capNames)
  const rules: SeccompRule[] = []
  for (const s of p.syscalls ?? []) {
    if (!applies(s, caps)) continue
    const names = s.names ?? (s.name ? [s.name] : [])
    const args = (s.args ?? []).map((a): [number, string, string, string] => [a.index, a.op, BigInt(a.value).toString(), BigInt(a.valueTwo ?? 0).toString()])
    rules.push([names, s.action, s.errnoRet ?? EPERM, args])
  }
  // Rules apply to every architecture the profile names (libseccomp maps
  // each call's number per arch); the native one is always in.
  const arches = (p.architectures ?? []).map((a) => ARCH_NAMES[a]).filter((a): a is string => !!a)
  try {
    return containerNative.compileSeccomp(p.defaultAction, p.defaultErrnoRet ?? EPERM, arches, rules)
  } catch (err) {
    throw errnoError('EINVAL', `seccomp profile: ${(err as Error).message}`)
  }
}
