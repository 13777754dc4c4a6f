// What a mount request means, from either spelling (--lowerdir/--upperdir/
// --workdir flags, or fuse-overlayfs/mount(8) style -o lowerdir=…), checked
// before anything is mounted so that bad input gets an error naming the
// path at fault and leaves nothing behind.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'

export interface MountRequest {
  mountpoint: string
  lowerdirs: string[]
  upperdir?: string
  workdir?: string
  /** Options handed to the kernel mount (fsname, allow_other, dev, suid, ro …). */
  fuseOptions: string[]
  readOnly: boolean
  timeout: number
  debug: boolean
}

// mount(8) and fstab pass these; they either mean something to the kernel
// mount (kept) or are for mount(8) itself (dropped).
const KERNEL_FLAGS = new Set(['ro', 'rw', 'dev', 'nodev', 'suid', 'nosuid', 'exec', 'noexec', 'atime', 'noatime',
  'relatime', 'norelatime', 'strictatime', 'nodiratime', 'diratime', 'sync', 'async', 'dirsync', 'allow_other',
  'default_permissions', 'allow_root'])
const MOUNT8_FLAGS = new Set(['defaults', 'auto', 'noauto', 'user', 'nouser', 'users', 'owner', 'group', 'nofail',
  '_netdev', 'silent', 'loud', 'lazytime', 'nolazytime'])

export interface MountArgs {
  mountpoint: string
  lowerdir?: string
  upperdir?: string
  workdir?: string
  options?: string[]
  debug?: boolean
}

function checkDir (what: string, p: string): string {
  const abs = path.resolve(p)
  let st: fs.Stats
  try {
    st = fs.statSync(abs)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    throw errnoError(code, `${what} ${abs}: ${code === 'ENOENT' ? 'no such directory' : (err as Error).message}`)
  }
  if (!st.isDirectory()) throw errnoError('ENOTDIR', `${what} ${abs}: not a directory`)
  try {
    fs.accessSync(abs, fs.constants.R_OK | fs.constants.X_OK)
  } catch {
    throw errnoError('EACCES', `${what} ${abs}: not readable`)
  }
  return abs
}

const inside = (child: string, parent: string): boolean => child === parent || child.startsWith(parent.endsWith('/') ? parent : parent + '/')

/** Is `p` a mount point already (per /proc/self/mountinfo)? */
export function isMounted (p: string): boolean {
  const esc = p.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'))
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === esc)
}

export function parseMountArgs (a: MountArgs): MountRequest {
  let { lowerdir, upperdir, workdir } = a
  const fuseOptions: string[] = []
  let timeout = 86400
  let readOnly = false
  let debug = a.debug ?? false
  for (const group of a.options ?? []) {
    for (const opt of group.split(',').filter(Boolean)) {
      const eq = opt.indexOf('=')
      const key = eq < 0 ? opt : opt.slice(0, eq)
      const val = eq < 0 ? '' : opt.slice(eq + 1)
      if (key === 'lowerdir') lowerdir = val
      else if (key === 'upperdir') upperdir = val
      else if (key === 'workdir') workdir = val
      else if (key === 'timeout') timeout = Number(val)
      else if (key === 'debug') debug = true
      else if (key === 'ro') { readOnly = true; fuseOptions.push('ro') }
      else if (KERNEL_FLAGS.has(key)) fuseOptions.push(opt)
      else if (MOUNT8_FLAGS.has(key) || key.startsWith('x-') || key.startsWith('comment=')) continue
      else throw errnoError('EINVAL', `unknown mount option "${opt}"`)
    }
  }
  if (!Number.isFinite(timeout) || timeout < 0) throw errnoError('EINVAL', 'timeout= takes a number of seconds')
  if (!lowerdir) throw errnoError('EINVAL', 'no lowerdir given (--lowerdir A:B or -o lowerdir=A:B)')
  if ((upperdir === undefined) !== (workdir === undefined)) throw errnoError('EINVAL', 'upperdir and workdir go together')
  if (!fs.existsSync('/dev/fuse')) throw errnoError('ENODEV', '/dev/fuse is missing: load the fuse module (modprobe fuse)')
  const mountpoint = checkDir('mountpoint', a.mountpoint)
  if (isMounted(mountpoint)) throw errnoError('EBUSY', `mountpoint ${mountpoint} is busy: something is already mounted there`)
  const lowerdirs = lowerdir.split(':').filter(Boolean).map((d) => checkDir('lowerdir', d))
  const req: MountRequest = { mountpoint, lowerdirs, fuseOptions, readOnly: readOnly || !upperdir, timeout, debug }
  const all: Array<[string, string]> = lowerdirs.map((d) => ['lowerdir', d])
  if (upperdir !== undefined && workdir !== undefined && !readOnly) {
    req.upperdir = checkDir('upperdir', upperdir)
    req.workdir = checkDir('workdir', workdir)
    if (inside(req.workdir, req.upperdir) || inside(req.upperdir, req.workdir)) {
      throw errnoError('EINVAL', `workdir ${req.workdir} and upperdir ${req.upperdir} must not be inside each other`)
    }
    if (fs.statSync(req.upperdir).dev !== fs.statSync(req.workdir).dev) {
      throw errnoError('EXDEV', `upperdir ${req.upperdir} and workdir ${req.workdir} are on different filesystems`)
    }
    all.push(['upperdir', req.upperdir], ['workdir', req.workdir])
  }
  for (const [what, d] of all) {
    if (inside(d, mountpoint)) throw errnoError('EINVAL', `${what} ${d} is inside the mountpoint ${mountpoint}`)
  }
  if (!fuseOptions.includes('ro') && !req.upperdir) fuseOptions.push('ro')
  if (process.getuid?.() === 0) {
    // Root mounts serve everyone, with the kernel checking permissions, and
    // keep device nodes and setuid bits of the image working (a rootfs).
    for (const o of ['allow_other', 'default_permissions']) if (!fuseOptions.includes(o)) fuseOptions.push(o)
    if (!fuseOptions.includes('nodev') && !fuseOptions.includes('dev')) fuseOptions.push('dev')
    if (!fuseOptions.includes('nosuid') && !fuseOptions.includes('suid')) fuseOptions.push('suid')
  } else if (!fuseOptions.includes('default_permissions')) {
    fuseOptions.push('default_permissions')
  }
  return req
}
