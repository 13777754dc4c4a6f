// Counts the FUSE requests the kernel sends to one connection, by opcode,
// from the kernel's own fuse_request_send tracepoint: the same count for any
// daemon (strata or fuse-overlayfs), and no change to either. It uses a
// private tracefs instance (so no one else's tracing is touched) filtered to
// the connection, streamed through a `cat` of its trace_pipe that this module
// starts and ends by PID (a blocking read of trace_pipe cannot be cancelled
// from inside Node). Needs a kernel with the fuse tracepoints (6.15+);
// tracefs is mounted at /sys/kernel/tracing if it is not (and left there: it
// is the system's, like /proc, and others may be tracing through it).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const TRACEFS = '/sys/kernel/tracing'
const EVENT = 'events/fuse/fuse_request_send'

/** Opcode counts from trace lines ("... opcode 1 (FUSE_LOOKUP) len 45"); other lines are ignored. */
export function countOpcodes (lines: Iterable<string>, into: Record<string, number> = {}): Record<string, number> {
  for (const line of lines) {
    const m = / opcode \d+ \((?:FUSE_)?(\w+)\)/.exec(line)
    if (m) into[m[1]] = (into[m[1]] ?? 0) + 1
  }
  return into
}

/** Why request counting cannot work here, or undefined if it can. */
export function requestCountingUnavailable (): string | undefined {
  if (!existsSync(join(TRACEFS, 'instances'))) {
    try {
      execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { stdio: 'ignore' })
    } catch {
      return `no tracefs at ${TRACEFS}, and mount -t tracefs failed`
    }
  }
  if (!existsSync(join(TRACEFS, EVENT))) return 'this kernel has no fuse_request_send tracepoint'
  return undefined
}

export class RequestCounter {
  private constructor (
    private readonly dir: string,
    private readonly reader: ChildProcess,
    private readonly counts: Record<string, number>,
    private readonly done: Promise<void>
  ) {}

  /** Starts counting requests to the FUSE connection numbered `connection` (its /sys/fs/fuse/connections name). */
  static async start (connection: number): Promise<RequestCounter> {
    const why = requestCountingUnavailable()
    if (why) throw new Error(why)
    const dir = join(TRACEFS, 'instances', `strata-bench-${process.pid}`)
    await mkdir(dir)
    try {
      await writeFile(join(dir, 'buffer_size_kb'), '8192')
      await writeFile(join(dir, EVENT, 'filter'), `connection == ${connection}`)
      await writeFile(join(dir, EVENT, 'enable'), '1')
    } catch (err) {
      await rmdir(dir).catch(() => {})
      throw err
    }
    const reader = spawn('cat', [join(dir, 'trace_pipe')], { stdio: ['ignore', 'pipe', 'ignore'] })
    const counts: Record<string, number> = {}
    let rest = ''
    reader.stdout.setEncoding('utf8')
    reader.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n')
      rest = lines.pop() ?? ''
      countOpcodes(lines, counts)
    })
    const done = new Promise<void>((resolve) => reader.once('close', () => {
      countOpcodes([rest], counts)
      resolve()
    }))
    return new RequestCounter(dir, reader, counts, done)
  }

  /** Stops, drains what the kernel buffered, removes the instance; returns counts by opcode. */
  async stop (): Promise<Record<string, number>> {
    await writeFile(join(this.dir, EVENT, 'enable'), '0').catch(() => {})
    // trace_pipe has no end: wait until it has been quiet for a moment, then end our reader.
    let seen = -1
    for (let i = 0; i < 50; i++) {
      const total = Object.values(this.counts).reduce((a, b) => a + b, 0)
      if (total === seen) break
      seen = total
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    if (this.reader.exitCode === null) this.reader.kill('SIGKILL')
    await this.done
    await rmdir(this.dir).catch(() => {})
    return { ...this.counts }
  }
}
