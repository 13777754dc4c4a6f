// The first process of a container, run by `unshare` in new mount, PID,
// UTS, IPC (and, unless --network host, network) namespaces. It joins the
// container's cgroups, builds the container's view as runc does — /proc,
// /sys read-only, a /dev of docker's default nodes and a devpts instance of
// its own, volumes and tmpfs mounts, docker's masked and read-only paths, a
// read-only root if asked — names the host, pivot_roots into the root with
// the old root detached, and becomes the command (capabilities, seccomp,
// user, execve), so the command is PID 1 and its exit status is the
// container's. Every target inside the root is resolved with secureJoin:
// until pivot_root, an image's absolute symlink would name a host path.
import fs from 'node:fs'
import path from 'node:path'
import { native, C } from '../native/binding.js'
import { containerNative } from '../native/container-binding.js'
import { secureJoin } from './secure-join.js'
import type { RunSpec } from './run-spec.js'

/** docker's default /dev nodes (runc's spec): name, major, minor. */
const DEVICES: Array<[string, number, number]> = [['null', 1, 3], ['zero', 1, 5], ['full', 1, 7], ['random', 1, 8], ['urandom', 1, 9], ['tty', 5, 0]]

/** docker's masked paths: hidden behind /dev/null or an empty read-only tmpfs. */
export const MASKED_PATHS = ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap']
/** docker's read-only paths. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

const NOSUID_NODEV_NOEXEC = C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC
const MS_STRICT = (C as unknown as Record<string, number>).MS_STRICTATIME

function dir (p: string, mode = 0o755): void {
  if (!fs.existsSync(p)) fs.mkdirSync(p, { recursive: true, mode })
}

/** A mount target inside the root: created (a directory, or a file for a file source). */
function target (root: string, p: string, file = false): string {
  const t = secureJoin(root, p)
  if (!fs.existsSync(t)) {
    if (file) { dir(path.dirname(t)); fs.writeFileSync(t, '') } else dir(t)
  }
  return t
}

function readOnlyBind (p: string): void {
  native.mount(p, p, '', C.MS_BIND | C.MS_REC, '')
  native.mount(p, p, '', C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | NOSUID_NODEV_NOEXEC, '')
}

function mountDev (R: string): void {
  const dev = target(R, '/dev')
  native.mount('tmpfs', dev, 'tmpfs', C.MS_NOSUID | MS_STRICT, 'mode=755,size=65536k')
  for (const [name, major, minor] of DEVICES) {
    native.mknodat(C.AT_FDCWD, `${dev}/${name}`, 0o20666, native.makedev(major, minor))
    fs.chmodSync(`${dev}/${name}`, 0o666)
  }
  dir(`${dev}/pts`)
  native.mount('devpts', `${dev}/pts`, 'devpts', C.MS_NOSUID | C.MS_NOEXEC, 'newinstance,ptmxmode=0666,mode=0620,gid=5')
  fs.symlinkSync('pts/ptmx', `${dev}/ptmx`)
  dir(`${dev}/shm`, 0o1777)
  native.mount('shm', `${dev}/shm`, 'tmpfs', NOSUID_NODEV_NOEXEC, 'mode=1777,size=65536k')
  dir(`${dev}/mqueue`)
  native.mount('mqueue', `${dev}/mqueue`, 'mqueue', NOSUID_NODEV_NOEXEC, '')
  fs.symlinkSync('/proc/self/fd', `${dev}/fd`)
  fs.symlinkSync('/proc/kcore', `${dev}/core`)
  for (const [i, n] of ['stdin', 'stdout', 'stderr'].entries()) fs.symlinkSync(`/proc/self/fd/${i}`, `${dev}/${n}`)
}

export function containerInit (spec: RunSpec): never {
  for (const procs of spec.cgroupProcs) fs.writeFileSync(procs, '0')
  native.mount('', '/', '', C.MS_REC | C.MS_PRIVATE, '')
  if (spec.network === 'none') containerNative.loopbackUp()
  const R = spec.root
  const proc = target(R, '/proc')
  native.mount('proc', proc, 'proc', NOSUID_NODEV_NOEXEC, '')
  const sys = target(R, '/sys')
  native.mount('sysfs', sys, 'sysfs', NOSUID_NODEV_NOEXEC | (spec.privileged ? 0 : C.MS_RDONLY), '')
  if (!spec.privileged) {
    // cgroups of its own are not virtualised here: an empty read-only tmpfs, not the host's tree.
    const cg = `${sys}/fs/cgroup`
    if (fs.existsSync(cg)) native.mount('tmpfs', cg, 'tmpfs', NOSUID_NODEV_NOEXEC | C.MS_RDONLY, 'mode=755')
  }
  mountDev(R)
  for (const b of spec.binds) {
    const t = target(R, b.target, !fs.statSync(b.source).isDirectory())
    native.mount(b.source, t, '', C.MS_BIND | C.MS_REC, '')
    if (b.readOnly) native.mount(b.source, t, '', C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY, '')
  }
  for (const m of spec.tmpfs) {
    const opts = m.options.split(',').filter(Boolean)
    const flagOf: Record<string, number> = { nosuid: C.MS_NOSUID, nodev: C.MS_NODEV, noexec: C.MS_NOEXEC, ro: C.MS_RDONLY }
    const flags = opts.reduce((f, o) => f | (flagOf[o] ?? 0), 0)
    const data = opts.filter((o) => !(o in flagOf) && !['rw', 'suid', 'dev', 'exec'].includes(o)).join(',')
    native.mount('tmpfs', target(R, m.target), 'tmpfs', flags, data)
  }
  if (!spec.privileged) {
    for (const p of MASKED_PATHS) {
      const t = path.join(R, p)
      let st: fs.Stats
      try { st = fs.statSync(t) } catch { continue }
      if (st.isDirectory()) native.mount('tmpfs', t, 'tmpfs', C.MS_RDONLY, '')
      else native.mount(`${R}/dev/null`, t, '', C.MS_BIND, '')
    }
    for (const p of READONLY_PATHS) if (fs.existsSync(path.join(R, p))) readOnlyBind(path.join(R, p))
  }
  const cwd = secureJoin(R, spec.cwd)
  dir(cwd)
  if (spec.readOnly) native.mount(R, R, '', C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY, '')
  native.sethostname(spec.hostname)
  containerNative.pivotRoot(R)
  // Set up: the runner may now tell that the container started (exec joins
  // it then). Closed here, so the command does not inherit it.
  const readyFd = Number(process.env.STRATA_INIT_READY_FD)
  if (Number.isInteger(readyFd) && readyFd > 2) {
    fs.writeSync(readyFd, 'r')
    fs.closeSync(readyFd)
  }
  return containerNative.enterContainer({
    cwd: '/' + path.relative(R, cwd),
    uid: spec.uid,
    gid: spec.gid,
    groups: spec.groups,
    argv: spec.argv,
    env: spec.env,
    caps: spec.caps,
    noNewPrivs: spec.noNewPrivs,
    seccomp: spec.seccomp ? Buffer.from(spec.seccomp, 'base64') : null,
    tty: spec.tty,
  })
}
