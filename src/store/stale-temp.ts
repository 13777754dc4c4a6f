// Temp files and dirs in the store carry the PID of the process that made
// them (.tmp-<pid>-…, pull-<pid>-…, and .doomed-<pid>-… for a tree being
// removed), so that opening the store removes only those of processes that
// died: another strata command may be filling one right now (a pull
// extracting a layer while `strata image ls` starts).
import fs from 'node:fs'
import path from 'node:path'
import { native, C } from '../native/binding.js'
import { fsyncDir } from '../base/atomic-file.js'
import { removeTree } from '../base/remove-tree.js'
import { killPoint } from '../base/kill-point.js'

/** A mkdtemp prefix owned by this process: `${prefix}${pid}-`. */
export function ownedPrefix (dir: string, prefix: string): string {
  return path.join(dir, `${prefix}${process.pid}-`)
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const OWNED = /^\.?[a-z]+(?:-[a-z]+)*-(\d+)-/
const DAY = 86_400_000

/** The temp entries in `dir` (those `isTemp` accepts) whose owner is gone. */
export function staleTemp (dir: string, isTemp: (name: string) => boolean = () => true): string[] {
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return []
  }
  return names.filter((n) => {
    if (!isTemp(n)) return false
    const m = OWNED.exec(n)
    // Names from before PIDs were in them: gone after a day.
    if (!m) return Date.now() - (fs.lstatSync(path.join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > DAY
    return Number(m[1]) !== process.pid && !alive(Number(m[1]))
  })
}

/** Removes the temp entries in `dir` (those `isTemp` accepts) whose owner is gone. */
export function removeStaleTemp (dir: string, isTemp: (name: string) => boolean = () => true): void {
  for (const n of staleTemp(dir, isTemp)) removeDoomed(dir, n)
}

/**
 * Removes `name` in `dir` so that it is never seen half-removed under its
 * own name: it is first renamed to a .doomed-<pid>- name (which a crash
 * leaves for the stale sweep, never for a reader), then deleted. Absent is
 * fine. A name that is already a temp name is deleted in place.
 */
export function removeDoomed (dir: string, name: string): void {
  let victim = name
  if (!OWNED.test(name)) {
    victim = `.doomed-${process.pid}-${name}`
    try {
      fs.renameSync(path.join(dir, name), path.join(dir, victim))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    fsyncDir(dir)
    killPoint('doomed-renamed')
  }
  const fd = native.openat(C.AT_FDCWD, dir, C.O_RDONLY | C.O_DIRECTORY, 0)
  try { removeTree(fd, victim) } finally { native.close(fd) }
}
