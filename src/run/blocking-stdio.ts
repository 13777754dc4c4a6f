// The stdio a container inherits, blocking. Node (libuv) puts the pipes it
// writes to in O_NONBLOCK mode, a flag of the open file description that a
// child given the same fd shares: a container's `head -c 9M /dev/zero | …`
// then fails with EAGAIN once the pipe is full, where a shell's child
// blocks. Node may set the flag after the child started (when this process
// first touches process.stdout), so every FIFO is opened anew through
// /proc/self/fd (a description of its own; opened non-blocking so that it
// never waits for the other end, then switched to blocking), and the
// container gets that. Anything else (a tty, a file, a socket) passes as it
// is.
import fs from 'node:fs'
import { native } from '../native/binding.js'

const O_NONBLOCK = 0o4000

function isFifo (fd: number): boolean {
  try {
    return fs.fstatSync(fd).isFIFO()
  } catch {
    return false
  }
}

export interface ChildStdio {
  /** What to pass as spawn's stdio entries 0..2 (fds, or the given defaults). */
  stdio: Array<number | 'inherit'>
  /** Closes the fds opened here, once the child has them. */
  close: () => void
}

/** For each of fds 0..2 that the child inherits: the fd it should get. */
export function blockingStdio (inherit: readonly boolean[]): ChildStdio {
  const opened: number[] = []
  const stdio = [0, 1, 2].map((fd): number | 'inherit' => {
    if (!inherit[fd] || !isFifo(fd)) return 'inherit'
    try {
      const mine = fs.openSync(`/proc/self/fd/${fd}`, (fd === 0 ? fs.constants.O_RDONLY : fs.constants.O_WRONLY) | O_NONBLOCK)
      native.clearNonblock(mine)
      opened.push(mine)
      return mine
    } catch {
      // No reader left (ENXIO), or not reopenable: the shared fd is all there is.
      return 'inherit'
    }
  })
  return { stdio, close: () => { for (const fd of opened) fs.closeSync(fd) } }
}
