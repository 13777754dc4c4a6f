// Taking over from a container owner that died (the run client or the -d
// supervisor killed): its init died with it (PR_SET_PDEATHSIG), but the
// FUSE mount, the cgroups and a "running" state stay. reconcile() unmounts,
// removes the cgroups, records the container as exited (255, as docker does
// for a container whose daemon went away) and honours --rm. Commands that
// read container states call it first, so a dead owner is repaired on the
// next command; `system check --repair` can call repairContainers.
import fs from 'node:fs'
import path from 'node:path'
import type { Store } from '../store/store.js'
import type { ContainerRecord } from '../store/container-store.js'
import { isMounted } from '../fuse/mount-options.js'
import { unmount } from '../fuse/mount-daemon.js'
import { readState, updateState, ownerAlive, processStart, type ContainerState } from './container-state.js'
import { runMountpoint, sweepRunMounts } from './run-container.js'
import { removeCgroups } from './cgroups.js'

/** The container's state, repaired first if its owner is gone. */
export async function reconcile (store: Store, c: ContainerRecord): Promise<ContainerState> {
  const s = readState(store, c)
  if (s.status === 'created' && s.autoRemove && s.ownerPid && !ownerAlive(s)) {
    // A run --rm whose client died before the container started: it goes.
    await store.locked(() => { store.containers.remove(c) })
    return s
  }
  if (s.status !== 'running' || ownerAlive(s)) return s
  if (s.initPid && processStart(s.initPid)) {
    try { process.kill(s.initPid, 'SIGKILL') } catch { /* gone */ }
  }
  const mnt = runMountpoint(c)
  if (isMounted(mnt)) await unmount(mnt, true).catch(() => {})
  try { fs.rmdirSync(mnt) } catch { /* gone */ }
  const dirs = (s.process?.cgroupProcs ?? []).map((p) => path.dirname(p))
  await removeCgroups({ procs: [], dirs })
  const fixed = updateState(store, c, { status: 'exited', exitCode: 255, finishedAt: new Date().toISOString(), error: 'its owner process died', initPid: undefined })
  if (s.autoRemove) await store.locked(() => { store.containers.remove(c) })
  return fixed
}

/** Repairs every container whose owner is gone (and run mounts of dead builds); returns the names repaired. */
export async function repairContainers (store: Store): Promise<string[]> {
  const out: string[] = (await sweepRunMounts()).map((m) => path.basename(m))
  for (const c of store.containers.list()) {
    const s = readState(store, c)
    const orphan = s.status === 'running' || (s.status === 'created' && s.autoRemove && s.ownerPid)
    if (orphan && !ownerAlive(s)) { await reconcile(store, c); out.push(c.name) }
  }
  return out
}
