// A new process in a running container (`strata exec`): the container's
// namespaces and cgroups, its environment, capabilities, seccomp filter and
// no_new_privs, as its init got them, through the strata-nsexec helper
// (native/nsexec-main.cc). The user and working directory default to the
// container's; names are looked up in the container's own /etc/passwd.
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import type { Store } from '../store/store.js'
import type { ContainerRecord } from '../store/container-store.js'
import { errnoError } from '../base/errno-error.js'
import { nsexecPath } from '../native/container-binding.js'
import { loadImage } from '../image/resolve-image.js'
import { reconcile } from './container-reconcile.js'
import { readState, processStart } from './container-state.js'
import { resolveUser } from './run-spec.js'
import { blockingStdio } from './blocking-stdio.js'

export interface ExecOptions {
  argv: string[]
  env?: string[]
  user?: string
  workdir?: string
  stdin?: 'inherit' | 'ignore'
  /** A pty of the container's devpts as the command's controlling terminal (exec -t). */
  tty?: boolean
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']

export async function execInContainer (store: Store, c: ContainerRecord, opts: ExecOptions): Promise<number> {
  if (!opts.argv.length) throw errnoError('EINVAL', 'exec: no command given')
  let s = await reconcile(store, c)
  for (let i = 0; i < 100 && s.status === 'running' && !s.process; i++) { await new Promise((r) => setTimeout(r, 50)); s = readState(store, c) }
  if (s.status !== 'running' || !s.initPid || !s.process || !processStart(s.initPid)) throw errnoError('EINVAL', `container ${c.name} is not running`)
  const p = s.process
  const root = `/proc/${s.initPid}/root`
  const user = resolveUser(root, opts.user ?? s.flags?.user ?? loadImage(store, c.manifest).config.config?.User)
  const env = new Map<string, string>()
  for (const kv of p.env) { const i = kv.indexOf('='); env.set(kv.slice(0, i), kv.slice(i + 1)) }
  for (const e of opts.env ?? []) {
    const i = e.indexOf('=')
    if (i >= 0) env.set(e.slice(0, i), e.slice(i + 1))
    else if (process.env[e] !== undefined) env.set(e, process.env[e])
  }
  let bpf = '-'
  if (p.seccomp) {
    bpf = path.join(store.containers.dir, c.id, `exec-${process.pid}.bpf`)
    fs.writeFileSync(bpf, Buffer.from(p.seccomp, 'base64'), { mode: 0o600 })
  }
  const io = blockingStdio([opts.stdin !== 'ignore', true, true])
  try {
    const child = spawn(nsexecPath, [...(opts.tty ? ['--tty'] : []), String(s.initPid), String(user.uid), String(user.gid), user.groups.join(','), opts.workdir || p.cwd,
      p.caps.join(','), p.noNewPrivs ? '1' : '0', bpf, p.cgroupProcs.join(','), '--', ...opts.argv], {
      stdio: [opts.stdin === 'ignore' ? 'ignore' : io.stdio[0], io.stdio[1], io.stdio[2]], env: Object.fromEntries(env),
    })
    io.close()
    const forward = (sig: NodeJS.Signals): void => { try { child.kill(sig) } catch { /* gone */ } }
    for (const sg of FORWARDED) process.on(sg, forward)
    try {
      return await new Promise<number>((resolve, reject) => {
        child.on('close', (code, sig) => { resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15)) })
        child.on('error', (err) => { reject(errnoError('ENOENT', `cannot start ${nsexecPath}: ${err.message} (scripts/build builds it)`)) })
      })
    } finally {
      for (const sg of FORWARDED) process.off(sg, forward)
    }
  } finally {
    io.close()
    if (bpf !== '-') fs.rmSync(bpf, { force: true })
  }
}
