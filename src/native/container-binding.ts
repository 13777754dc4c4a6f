// The typed face of the addon's container calls (native/container-syscalls.cc)
// and where the strata-nsexec helper is. Kept apart from binding.ts so the
// FUSE contract there stays the FUSE's.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { native } from './binding.js'

export interface ProcessEntry {
  cwd: string
  uid: number
  gid: number
  groups: number[]
  argv: string[]
  env: string[]
  /** Capability numbers kept in the bounding, permitted and effective sets. */
  caps: number[]
  noNewPrivs: boolean
  /** Compiled BPF (compileSeccomp), or null for none. */
  seccomp: Buffer | null
  /** A pty of the container's devpts for the process; PID 1 then relays it. */
  tty?: boolean
}

/** A seccomp rule as the addon takes it: values are decimal strings (64-bit). */
export type SeccompRule = [names: string[], action: string, errno: number, args: Array<[index: number, op: string, value: string, valueTwo: string]>]

export interface ContainerNative {
  /** pivot_root into newRoot, the old root detached; cwd becomes "/". */
  pivotRoot(newRoot: string): void
  /** Sets IFF_UP on lo (in a new network namespace it starts down). */
  loopbackUp(): void
  compileSeccomp(defaultAction: string, defaultErrno: number, arches: string[], rules: SeccompRule[]): Buffer
  /** Capabilities, seccomp, user, cwd, execve. Returns only by throwing. */
  enterContainer(p: ProcessEntry): never
}

export const containerNative = native as unknown as ContainerNative

export const nsexecPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'Release', 'strata-nsexec')
