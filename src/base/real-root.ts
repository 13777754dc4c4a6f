// Is this process real root, uid 0 of the initial user namespace? Root of a
// user namespace (`unshare -U`, rootless podman) is uid 0 too, yet may not
// write root-only paths (/run, /var/lib) nor set trusted.* xattrs; callers
// choose per-user paths and the user.overlay.* forms unless this is true.
import fs from 'node:fs'

export function isRealRoot (): boolean {
  if (process.getuid?.() !== 0) return false
  try {
    return /^\s*0\s+0\s+4294967295\s*$/.test(fs.readFileSync('/proc/self/uid_map', 'utf8'))
  } catch {
    return true // no /proc/self/uid_map: a kernel without user namespaces
  }
}
