// Runs one process in an existing container: mounts the container (its
// image's layers plus its upper dir) through strata's FUSE filesystem, runs
// the process chrooted in new mount, PID, UTS and IPC namespaces (util-linux
// unshare, then this CLI's hidden __init), and unmounts — in a finally, so
// no mount outlives the call whatever happens. Used by `strata run` and by
// RUN steps of `strata image build`. Creating and removing the container is
// the caller's. Returns the exit status (128 + signal when killed).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import type { Store } from '../store/store.js'
import type { ContainerRecord } from '../store/container-store.js'
import type { Image } from '../image/resolve-image.js'
import { storeLayers } from '../image/store-layers.js'
import { parseMountArgs } from '../fuse/mount-options.js'
import { unmount } from '../fuse/mount-daemon.js'
import { mountInBackground, cliMain } from '../fuse/mount-in-background.js'
import { runSpec, type RunFlags } from './run-spec.js'

export interface RunContainerOptions {
  flags: RunFlags
  /** 'inherit' (strata run) or 'ignore' (a build step reads no input). */
  stdin?: 'inherit' | 'ignore'
  /** Receives the process's output instead of it going to ours. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']

/** The container's PID 1: the child of unshare. */
function initPid (unsharePid: number): number | null {
  try {
    const kids = fs.readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
    return kids.length ? Number(kids[0]) : null
  } catch {
    return null
  }
}

/** Where containers are mounted while they run. */
export function runMountpoint (c: ContainerRecord): string {
  return path.join(process.env.STRATA_RUN_DIR ?? '/run/strata', 'run', c.id)
}

export async function runContainer (store: Store, c: ContainerRecord, image: Image, opts: RunContainerOptions): Promise<number> {
  const mnt = runMountpoint(c)
  fs.mkdirSync(mnt, { recursive: true })
  let mounted = false
  try {
    await mountInBackground(parseMountArgs({ mountpoint: mnt, ...storeLayers(store, c.id), options: [], ownContainer: true }))
    mounted = true
    const spec = runSpec(mnt, image.config.config, opts.flags)
    const out = opts.onOutput ? 'pipe' : 'inherit'
    const child = spawn('unshare', ['--mount', '--pid', '--uts', '--ipc', '--fork', '--kill-child', '--', process.execPath, cliMain, '__init'], {
      stdio: [opts.stdin ?? 'inherit', out, out],
      env: { ...process.env, STRATA_INIT_SPEC: JSON.stringify(spec) },
    })
    if (opts.onOutput) {
      child.stdout?.on('data', (d: Buffer) => opts.onOutput!(d, 'stdout'))
      child.stderr?.on('data', (d: Buffer) => opts.onOutput!(d, 'stderr'))
    }
    const forward = (sig: NodeJS.Signals): void => {
      const pid = child.pid ? initPid(child.pid) : null
      try { process.kill(pid ?? child.pid!, sig) } catch { /* already gone */ }
    }
    for (const s of FORWARDED) process.on(s, forward)
    try {
      // 'close', not 'exit': piped output is complete only then.
      return await new Promise<number>((resolve) => {
        child.on('close', (code, sig) => resolve(code ?? 128 + (sig ? os.constants.signals[sig] : 1)))
        child.on('error', (err) => { process.stderr.write(`strata: cannot start unshare: ${err.message}\n`); resolve(127) })
      })
    } finally {
      for (const s of FORWARDED) process.off(s, forward)
    }
  } finally {
    if (mounted) await unmount(mnt).catch((err) => process.stderr.write(`strata: ${(err as Error).message}\n`))
    try { fs.rmdirSync(mnt) } catch { /* still mounted or gone: said above */ }
  }
}
