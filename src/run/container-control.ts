// Acting on a container from outside its owner: waiting for it to exit,
// signalling its init (kill), stop (SIGTERM, then SIGKILL after a grace
// time, as docker), and starting a detached supervisor (`run -d`, start).
// The owner records the exit; these only read the state (through
// reconcile, so a dead owner is repaired first).
import os from 'node:os'
import { spawn } from 'node:child_process'
import type { Store } from '../store/store.js'
import type { ContainerRecord } from '../store/container-store.js'
import { errnoError } from '../base/errno-error.js'
import { cliMain } from '../fuse/mount-in-background.js'
import { reconcile } from './container-reconcile.js'
import { processStart, readState, type ContainerState } from './container-state.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Resolves with the state once the container is not running (after timeoutMs: as it is then). */
export async function waitExited (store: Store, c: ContainerRecord, timeoutMs = Infinity): Promise<ContainerState> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const s = await reconcile(store, c)
    if (s.status !== 'running' || Date.now() >= end) return s
    await sleep(50)
  }
}

export function signalNumber (sig: string): NodeJS.Signals {
  const n = /^\d+$/.test(sig) ? Object.entries(os.constants.signals).find(([, v]) => v === Number(sig))?.[0] : `SIG${sig.toUpperCase().replace(/^SIG/, '')}`
  if (!n || !(n in os.constants.signals)) throw errnoError('EINVAL', `invalid signal "${sig}"`)
  return n as NodeJS.Signals
}

/** Sends a signal to the container's init; the container must be running. */
export async function killContainer (store: Store, c: ContainerRecord, sig: NodeJS.Signals): Promise<void> {
  let s = await reconcile(store, c)
  // A just-started container may not have told its init PID yet.
  for (let i = 0; i < 100 && s.status === 'running' && !s.initPid; i++) { await sleep(50); s = readState(store, c) }
  if (s.status !== 'running' || !s.initPid || !processStart(s.initPid)) throw errnoError('EINVAL', `container ${c.name} is not running`)
  process.kill(s.initPid, sig)
}

/** docker stop: SIGTERM, SIGKILL after `seconds`; resolves once it has exited. */
export async function stopContainer (store: Store, c: ContainerRecord, seconds = 10): Promise<ContainerState> {
  const s = await reconcile(store, c)
  if (s.status !== 'running') return s
  try { await killContainer(store, c, 'SIGTERM') } catch { return waitExited(store, c) }
  const after = await waitExited(store, c, seconds * 1000)
  if (after.status !== 'running') return after
  try { await killContainer(store, c, 'SIGKILL') } catch { /* exited meanwhile */ }
  return waitExited(store, c)
}

/**
 * Starts `strata __supervise ID` in its own session, owning the container
 * apart from this client; resolves once the container runs (or ended).
 */
export async function startSupervisor (store: Store, c: ContainerRecord): Promise<ContainerState> {
  const before = new Date().toISOString()
  const child = spawn(process.execPath, [cliMain, '__supervise', '--root', store.root, c.id], { detached: true, stdio: 'ignore', env: process.env })
  child.unref()
  const pid = child.pid!
  for (let i = 0; i < 400; i++) {
    const s = readState(store, c)
    const ours = !!s.startedAt && s.startedAt >= before
    if (ours && (s.status === 'exited' || (s.status === 'running' && s.initPid))) return s
    if (!ours && !processStart(pid)) break
    await sleep(25)
  }
  const s = readState(store, c)
  if (!s.startedAt || s.startedAt < before) throw errnoError('EIO', `container ${c.name}: its supervisor did not start`)
  return s
}
