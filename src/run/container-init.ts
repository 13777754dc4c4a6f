// The first process of a container, run by `unshare` in new mount, PID, UTS
// and IPC namespaces: it mounts /proc, /sys (read-only) and a minimal /dev
// inside the root, names the host, and then becomes the container's command
// (chroot, user, execve) — so the command is PID 1 and its exit status is
// the container's.
import fs from 'node:fs'
import path from 'node:path'
import { native, C } from '../native/binding.js'
import type { RunSpec } from './run-spec.js'

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty']

function dir (p: string, mode = 0o755): void {
  if (!fs.existsSync(p)) fs.mkdirSync(p, { recursive: true, mode })
}

export function containerInit (spec: RunSpec): never {
  const R = spec.root
  native.mount('', '/', '', C.MS_REC | C.MS_PRIVATE, '')
  dir(`${R}/proc`)
  native.mount('proc', `${R}/proc`, 'proc', C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC, '')
  dir(`${R}/sys`)
  native.mount('sysfs', `${R}/sys`, 'sysfs', C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC, '')
  dir(`${R}/dev`)
  native.mount('tmpfs', `${R}/dev`, 'tmpfs', C.MS_NOSUID, 'mode=755,size=65536k')
  for (const d of DEVICES) {
    if (!fs.existsSync(`/dev/${d}`)) continue
    fs.writeFileSync(`${R}/dev/${d}`, '')
    native.mount(`/dev/${d}`, `${R}/dev/${d}`, '', C.MS_BIND, '')
  }
  dir(`${R}/dev/pts`)
  native.mount('devpts', `${R}/dev/pts`, 'devpts', C.MS_NOSUID | C.MS_NOEXEC, 'newinstance,ptmxmode=0666,mode=620')
  fs.symlinkSync('pts/ptmx', `${R}/dev/ptmx`)
  dir(`${R}/dev/shm`, 0o1777)
  native.mount('tmpfs', `${R}/dev/shm`, 'tmpfs', C.MS_NOSUID | C.MS_NODEV, 'mode=1777,size=65536k')
  fs.symlinkSync('/proc/self/fd', `${R}/dev/fd`)
  for (const [i, n] of ['stdin', 'stdout', 'stderr'].entries()) fs.symlinkSync(`/proc/self/fd/${i}`, `${R}/dev/${n}`)
  native.sethostname(spec.hostname)
  dir(path.join(R, spec.cwd))
  return native.execInRoot(R, spec.cwd, spec.uid, spec.gid, spec.groups, spec.argv, spec.env)
}
