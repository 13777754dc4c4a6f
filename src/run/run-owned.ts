// Running a container as its owner: the process that records the state
// (running with its init PID, then exited with its code and times) around
// runContainer. The owner is the `run` client in the foreground, or the
// supervisor of `run -d` / `start`, which also writes the output to the
// container's log (docker's json-file lines: {"log","stream","time"}).
import fs from 'node:fs'
import type { Store } from '../store/store.js'
import type { ContainerRecord } from '../store/container-store.js'
import type { Image } from '../image/resolve-image.js'
import { runContainer, type RunContainerOptions } from './run-container.js'
import { updateState, processStart, logPath } from './container-state.js'

export interface OwnedRunOptions extends RunContainerOptions {
  autoRemove?: boolean
  /** Write the output to the container's log rather than passing it on. */
  log?: boolean
}

export async function runOwned (store: Store, c: ContainerRecord, image: Image, opts: OwnedRunOptions): Promise<number> {
  updateState(store, c, {
    status: 'running',
    ownerPid: process.pid,
    ownerStart: processStart(process.pid) ?? undefined,
    initPid: undefined,
    startedAt: new Date().toISOString(),
    finishedAt: undefined,
    exitCode: undefined,
    error: undefined,
    flags: opts.flags,
    autoRemove: opts.autoRemove,
  })
  let logFd: number | null = null
  if (opts.log) logFd = fs.openSync(logPath(store, c), 'a', 0o600)
  const onOutput = logFd === null
    ? opts.onOutput
    : (d: Buffer, stream: 'stdout' | 'stderr') => { fs.writeSync(logFd, JSON.stringify({ log: d.toString('utf8'), stream, time: new Date().toISOString() }) + '\n') }
  let code = 255
  let error: string | undefined
  try {
    code = await runContainer(store, c, image, {
      ...opts,
      onOutput,
      onStart: (initPid, spec) => {
        updateState(store, c, { initPid, command: spec.argv, process: { env: spec.env, capNames: spec.capNames, caps: spec.caps, seccomp: spec.seccomp, noNewPrivs: spec.noNewPrivs, cgroupProcs: spec.cgroupProcs, cwd: spec.cwd } })
        opts.onStart?.(initPid, spec)
      },
    })
    return code
  } catch (err) {
    error = (err as Error).message
    throw err
  } finally {
    if (logFd !== null) fs.closeSync(logFd)
    updateState(store, c, { status: 'exited', exitCode: code, error, finishedAt: new Date().toISOString(), initPid: undefined, ownerPid: undefined, ownerStart: undefined })
    if (opts.autoRemove) await store.locked(() => { store.containers.remove(c) })
  }
}
