// Runs one process in an existing container: mounts the container (its
// image's layers plus its upper dir) through strata's FUSE filesystem under
// a directory only root can enter, creates its cgroups, starts its init
// (strata-nsexec --new, then this CLI's hidden __init, see container-init.ts)
// in new mount, PID, UTS, IPC and network namespaces, and
// unmounts — in a finally, so no mount outlives the call whatever happens.
// Used by `strata run`, by the -d supervisor and by RUN steps of
// `strata image build`. Creating and removing the container is the caller's.
// Resolves with the exit status (128 + signal when killed); rejects when the
// FUSE daemon serving the root died (what reached the upper dir then is not
// the command's work, so a build must not commit it).
//
// Nothing outlives its owner: strata-nsexec and the init both have
// PR_SET_PDEATHSIG=KILL (the owner died → they die), and the PID namespace
// goes with its init.
import fs from 'node:fs'
import { processStart } from './container-state.js'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import type { Store } from '../store/store.js'
import type { ContainerRecord } from '../store/container-store.js'
import type { Image } from '../image/resolve-image.js'
import { storeLayers } from '../image/store-layers.js'
import { parseMountArgs, isMounted } from '../fuse/mount-options.js'
import { unmount } from '../fuse/mount-daemon.js'
import { mountInBackground, cliMain } from '../fuse/mount-in-background.js'
import { errnoError } from '../base/errno-error.js'
import { nsexecPath } from '../native/container-binding.js'
import { runSpec, type RunFlags, type RunSpec } from './run-spec.js'
import { createCgroups, removeCgroups, parseBytes } from './cgroups.js'
import { blockingStdio } from './blocking-stdio.js'

export interface RunContainerOptions {
  flags: RunFlags
  /** 'inherit' (strata run) or 'ignore' (a build step reads no input). */
  stdin?: 'inherit' | 'ignore'
  /** Receives the process's output instead of it going to ours. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void
  /** Told the container's init PID (on the host) once it runs, and its spec. */
  onStart?: (initPid: number, spec: RunSpec) => void
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']

/** The container's PID 1: the child of strata-nsexec. */
function initPid (unsharePid: number): number | null {
  try {
    const kids = fs.readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
    return kids.length ? Number(kids[0]) : null
  } catch {
    return null
  }
}

function alive (pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return false
  }
}

/** The directory, only root may enter, under which containers are mounted while they run. */
export function runMountRoot (): string {
  return path.join(process.env.STRATA_RUN_DIR ?? '/run/strata', 'run')
}

/** Where a container is mounted while it runs. */
export function runMountpoint (c: ContainerRecord): string {
  return path.join(runMountRoot(), c.id)
}

/**
 * A 0700 directory: a container's mount has setuid files and device nodes of
 * the image, which no host user may reach.
 */
function privateDir (dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  fs.chmodSync(dir, 0o700)
}

/** `<id>.owner` beside the mountpoint: the PID and start time of the process that mounted it. */
function ownerFile (mnt: string): string {
  return `${mnt}.owner`
}

/**
 * Unmounts the run mounts whose owner died (a `run` client, a supervisor or
 * a build killed before its finally could run); their containers died with
 * them (PR_SET_PDEATHSIG). Called before every new run and by reconcile.
 */
export async function sweepRunMounts (): Promise<string[]> {
  const root = runMountRoot()
  let names: string[]
  try { names = fs.readdirSync(root).filter((n) => n.endsWith('.owner')) } catch { return [] }
  const swept: string[] = []
  for (const n of names) {
    const file = path.join(root, n)
    let owner: { pid: number, start: string }
    try { owner = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number, start: string } } catch { continue }
    if (processStart(owner.pid) === owner.start) continue
    const mnt = file.slice(0, -'.owner'.length)
    if (isMounted(mnt)) await unmount(mnt, true).catch(() => {})
    try { fs.rmdirSync(mnt) } catch { /* gone, or still busy */ }
    fs.rmSync(file, { force: true })
    swept.push(mnt)
  }
  return swept
}

export async function runContainer (store: Store, c: ContainerRecord, image: Image, opts: RunContainerOptions): Promise<number> {
  privateDir(runMountRoot())
  await sweepRunMounts()
  const mnt = runMountpoint(c)
  privateDir(mnt)
  fs.writeFileSync(ownerFile(mnt), JSON.stringify({ pid: process.pid, start: processStart(process.pid) }))
  let mounted = false
  let daemonPid = 0
  const limits = { memory: opts.flags.memory !== undefined ? parseBytes(opts.flags.memory) : undefined, pidsLimit: opts.flags.pidsLimit, cpus: opts.flags.cpus }
  let cgroups: ReturnType<typeof createCgroups> | null = null
  try {
    daemonPid = await mountInBackground(parseMountArgs({ mountpoint: mnt, ...storeLayers(store, c.id), options: [], ownContainer: true }))
    mounted = true
    const spec = runSpec(mnt, image.config.config, opts.flags)
    cgroups = createCgroups(c.id, limits, spec.privileged)
    spec.cgroupProcs = cgroups.procs
    const io = blockingStdio([opts.stdin !== 'ignore', !opts.onOutput, !opts.onOutput])
    const out = opts.onOutput ? 'pipe' : null
    // fd 3: the init's word that it is set up (container-init.ts).
    const child = spawn(nsexecPath, ['--new', ...(spec.network === 'none' ? ['net'] : []), '--', process.execPath, cliMain, '__init'], {
      stdio: [opts.stdin === 'ignore' ? 'ignore' : io.stdio[0], out ?? io.stdio[1], out ?? io.stdio[2], 'pipe'],
      env: { ...process.env, STRATA_INIT_SPEC: JSON.stringify(spec), STRATA_INIT_READY_FD: '3' },
    })
    io.close()
    if (opts.onOutput) {
      child.stdout?.on('data', (d: Buffer) => { opts.onOutput!(d, 'stdout') })
      child.stderr?.on('data', (d: Buffer) => { opts.onOutput!(d, 'stderr') })
    }
    const forward = (sig: NodeJS.Signals): void => {
      const pid = child.pid ? initPid(child.pid) : null
      try { process.kill(pid ?? child.pid!, sig) } catch { /* already gone */ }
    }
    for (const s of FORWARDED) process.on(s, forward)
    let daemonDied = false
    // The container counts as started (its init PID told, so exec may join
    // it) once the init has made its mounts and pivoted its root, as runc's
    // start does, not as soon as its process exists: an exec that joined the
    // mount namespace before that saw the host's /dev and /proc.
    const ready = child.stdio[3] as Readable
    ready.on('error', () => { /* the init died before it was set up: the exit says why */ })
    ready.once('data', () => {
      ready.destroy()
      const pid = child.pid ? initPid(child.pid) : null
      if (pid) opts.onStart?.(pid, spec)
    })
    // The daemon is watched while the command runs: once it is gone, every
    // file access in the container fails, and the container is ended.
    const watch = setInterval(() => {
      if (!alive(daemonPid)) {
        daemonDied = true
        try { process.kill(child.pid!, 'SIGKILL') } catch { /* gone */ }
      }
    }, 100)
    try {
      // 'close', not 'exit': piped output is complete only then.
      const status = await new Promise<number>((resolve) => {
        child.on('close', (code, sig) => { resolve(code ?? 128 + (sig ? os.constants.signals[sig] : 1)) })
        child.on('error', (err) => { process.stderr.write(`strata: cannot start strata-nsexec: ${err.message}\n`); resolve(127) })
      })
      if (daemonDied || !alive(daemonPid)) throw errnoError('EIO', `the FUSE daemon serving container ${c.name} (pid ${daemonPid}) died while it ran`)
      return status
    } finally {
      clearInterval(watch)
      for (const s of FORWARDED) process.off(s, forward)
    }
  } finally {
    if (cgroups) await removeCgroups(cgroups)
    if (mounted && isMounted(mnt)) await unmount(mnt, !alive(daemonPid)).catch((err: unknown) => process.stderr.write(`strata: ${(err as Error).message}\n`))
    try { fs.rmdirSync(mnt) } catch { /* still mounted or gone: said above */ }
    if (!isMounted(mnt)) fs.rmSync(ownerFile(mnt), { force: true })
  }
}
