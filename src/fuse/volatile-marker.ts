// The kernel's rule for an upper written by a volatile mount (overlayfs.rst,
// "Volatile mount"): such a mount creates $workdir/work/incompat/volatile/
// dirty, and a later mount that is not volatile refuses that upper, since
// writes that were never synced may be lost. A volatile mount may follow
// another. The marker is the kernel's own, so kernel overlayfs and strata
// agree about the same upper/work pair; whoever knows the upper is safe
// (synced, or thrown away) removes work/incompat/volatile.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'

export const volatileDir = (workdir: string): string => path.join(workdir, 'work', 'incompat', 'volatile')

/** Throws if a non-volatile mount would find the upper left dirty. */
export function checkNotDirty (workdir: string): void {
  if (fs.existsSync(volatileDir(workdir))) {
    throw errnoError('EINVAL', `workdir ${workdir}: the upper was left by a volatile mount and may have lost writes; ` +
      `mount it volatile again, or remove ${volatileDir(workdir)} once you know the upper is sound`)
  }
}

/** Marks the upper as written without fsync (before the mount goes live). */
export function markDirty (workdir: string): void {
  fs.mkdirSync(volatileDir(workdir), { recursive: true, mode: 0o700 })
  fs.closeSync(fs.openSync(path.join(volatileDir(workdir), 'dirty'), 'a', 0o600))
}
