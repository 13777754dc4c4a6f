// Temp files and dirs in the store carry the PID of the process that made
// them (.tmp-<pid>-…, pull-<pid>-…), so that opening the store removes only
// those of processes that died: another strata command may be filling one
// right now (a pull extracting a layer while `strata image ls` starts).
import fs from 'node:fs'
import path from 'node:path'

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

/** Removes the temp entries in `dir` (those `isTemp` accepts) whose owner is gone. */
export function removeStaleTemp (dir: string, isTemp: (name: string) => boolean = () => true): void {
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return
  }
  for (const n of names) {
    if (!isTemp(n)) continue
    const m = OWNED.exec(n)
    const p = path.join(dir, n)
    // Names from before PIDs were in them: gone after a day.
    const stale = m ? Number(m[1]) !== process.pid && !alive(Number(m[1])) : Date.now() - fs.lstatSync(p).mtimeMs > DAY
    if (stale) fs.rmSync(p, { recursive: true, force: true })
  }
}
