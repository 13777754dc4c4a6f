// Finds the FUSE daemon serving a mount point and reads its peak resident set
// (VmHWM). The daemon is whichever process holds /dev/fuse open and names the
// mount point in its argv: fuse-overlayfs and strata's daemon both do, and the
// bench's mount points are its own, so no other process matches. Neither the
// daemon's PID file nor its parent can be relied on (both helpers daemonize,
// and strata's record of its daemons is not the bench's to read).

import { readdir, readFile, readlink } from 'node:fs/promises'

/** VmHWM of a /proc/PID/status text, in MiB. */
export function parseVmHwm (status: string): number {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status)
  if (!m) throw new Error('no VmHWM line in the process status')
  return Number(m[1]) / 1024
}

/** PIDs of the processes that serve `mnt`: /dev/fuse open and `mnt` in their argv. */
export async function daemonPids (mnt: string): Promise<number[]> {
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    try {
      const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0')
      if (!argv.some((a) => a === mnt || a.endsWith('=' + mnt))) continue
      const fds = await readdir(`/proc/${name}/fd`)
      const links = await Promise.all(fds.map((fd) => readlink(`/proc/${name}/fd/${fd}`).catch(() => '')))
      if (links.includes('/dev/fuse')) pids.push(Number(name))
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids
}

/** Peak RSS in MiB of the daemon serving `pids` (summed if it runs as several processes). */
export async function peakRssMiB (pids: readonly number[]): Promise<number> {
  let total = 0
  for (const pid of pids) total += parseVmHwm(await readFile(`/proc/${pid}/status`, 'utf8'))
  return total
}
