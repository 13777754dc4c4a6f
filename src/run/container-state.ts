// A container's runtime state, in containers/<id>/state.json beside the
// store's config.json (which it never touches): created, running or
// exited; who owns the running container (the `run` client or the -d
// supervisor: its PID and start time, so a reused PID is not taken for it);
// the init's host PID; exit code and times; the run flags, so `start` runs
// the same again; and what exec needs of the running process (env, caps,
// seccomp). Written atomically by the owner; others only read it, except
// reconcile (which takes over from an owner that is gone).
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../base/atomic-file.js'
import type { Store } from '../store/store.js'
import type { ContainerRecord } from '../store/container-store.js'
import type { RunFlags, RunSpec } from './run-spec.js'

export interface ContainerState {
  status: 'created' | 'running' | 'exited'
  /** The owner process: the client of a foreground run, or the supervisor. */
  ownerPid?: number
  ownerStart?: string
  initPid?: number
  exitCode?: number
  startedAt?: string
  finishedAt?: string
  /** Why it ended other than by its command exiting. */
  error?: string
  flags?: RunFlags
  /** Remove the container when it exits. */
  autoRemove?: boolean
  /** The running process, for exec. */
  process?: Pick<RunSpec, 'env' | 'capNames' | 'caps' | 'seccomp' | 'noNewPrivs' | 'cgroupProcs' | 'cwd'>
  /** The command, as docker's COMMAND column shows it. */
  command?: string[]
}

export function statePath (store: Store, c: ContainerRecord): string {
  return path.join(store.containers.dir, c.id, 'state.json')
}

export function logPath (store: Store, c: ContainerRecord): string {
  return path.join(store.containers.dir, c.id, 'log.json')
}

export function readState (store: Store, c: ContainerRecord): ContainerState {
  try {
    return JSON.parse(fs.readFileSync(statePath(store, c), 'utf8')) as ContainerState
  } catch {
    return { status: 'created' }
  }
}

export function writeState (store: Store, c: ContainerRecord, s: ContainerState): void {
  if (!fs.existsSync(path.dirname(statePath(store, c)))) return
  writeFileAtomic(statePath(store, c), JSON.stringify(s, null, 2) + '\n')
}

export function updateState (store: Store, c: ContainerRecord, change: Partial<ContainerState>): ContainerState {
  const s = { ...readState(store, c), ...change }
  writeState(store, c, s)
  return s
}

/** A process's start time (field 22 of /proc/PID/stat), null when it is gone or a zombie. */
export function processStart (pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return rest[0] === 'Z' ? null : rest[19]
  } catch {
    return null
  }
}

/** The owner of a running container is still the process that took it. */
export function ownerAlive (s: ContainerState): boolean {
  return !!s.ownerPid && processStart(s.ownerPid) === s.ownerStart
}
