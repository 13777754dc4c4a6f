// A throwaway Distribution registry (/usr/bin/docker-registry, the Debian
// package) for the registry bench: plain HTTP on 127.0.0.1, filesystem
// storage under a dir the caller owns. Invariants: the server runs in its own
// process group and stop() ends exactly that group (SIGTERM, then SIGKILL),
// by PID; start() returns only once GET /v2/ answers 200, and kills what it
// started if it does not.

import { spawn, type ChildProcess } from 'node:child_process'
import { open, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'

export const REGISTRY_BIN = '/usr/bin/docker-registry'

export interface RegistryServer {
  /** host:port, as used in image names */
  host: string;
  pid: number;
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now (the kernel picks it). */
export async function freePort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', resolve)
  })
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((resolve) => srv.close(() => { resolve() }))
  return port
}

export async function startRegistry (dir: string, storage: string, port: number, log: string): Promise<RegistryServer> {
  const config = join(dir, 'config.yml')
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n')
  )
  const out = await open(log, 'a')
  let child: ChildProcess
  try {
    child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', out.fd, out.fd], detached: true })
  } finally {
    await out.close()
  }
  let exited = false
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true
      resolve()
    })
    child.once('error', () => {
      exited = true
      resolve()
    })
  })
  const stop = async (): Promise<void> => {
    if (exited || child.pid === undefined) return
    try {
      process.kill(-child.pid, 'SIGTERM')
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        /* already gone */
      }
    }, 5000)
    await exit
    clearTimeout(timer)
  }
  const host = `127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  for (;;) {
    if (exited) throw new Error(`${REGISTRY_BIN} exited at start (see ${log})`)
    try {
      const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) })
      await res.body?.cancel()
      if (res.status === 200) break
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`${REGISTRY_BIN} did not answer on ${host} within 15 s (see ${log})`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { host, pid: child.pid!, stop }
}
