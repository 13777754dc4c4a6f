// What a mount request means, from either spelling (--lowerdir/--upperdir/
// --workdir flags, or fuse-overlayfs/mount(8) style -o lowerdir=…), checked
// before anything is mounted so that bad input gets an error naming the
// path at fault and leaves nothing behind.
import fs from 'node:fs'
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'
import { parseIdRanges, type IdRange } from './id-mapping.js'
import { checkNotDirty } from './volatile-marker.js'
import { isRealRoot } from '../base/real-root.js'
import { native } from '../native/binding.js'

export { isRealRoot }

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
  /** volatile: no fsync at all, and the upper is marked dirty (work/incompat/volatile). */
  volatile: boolean
  /** fsync=0 (or volatile): fsync requests and copy-ups are not synced. */
  fsync: boolean
  uidmap: IdRange[]
  gidmap: IdRange[]
  squashUid?: number
  squashGid?: number
  staticNlink: boolean
  /**
   * FUSE's POSIX ACL mode: the kernel enforces ACLs and caches them per inode.
   * Off with noacl, and under id mapping or squashing, whose ids the stored
   * ACL entries do not follow.
   */
  acl: boolean
  /** Overlay xattrs as user.overlay.* (the kernel's userxattr; implied where trusted.* is refused). */
  userxattr: boolean
  /**
   * fuse-overlayfs's xattr_permissions: 0 (owners and modes are the files'
   * own), 1 (kept in security.fuseoverlayfs.override_stat) or 2
   * (user.fuseoverlayfs.override_stat), for a user who cannot chown.
   */
  xattrPermissions: number
  /** Kernel overlay options given (redirect_dir=, index=, …), by name, for whoever honours them. */
  kernelOverlay: Record<string, string>
}

// mount(8) and fstab pass these; they either mean something to the kernel
// mount (kept) or are for mount(8) itself (dropped).
const KERNEL_FLAGS = new Set(['ro', 'rw', 'dev', 'nodev', 'suid', 'nosuid', 'exec', 'noexec', 'atime', 'noatime',
  'relatime', 'norelatime', 'strictatime', 'nodiratime', 'diratime', 'sync', 'async', 'dirsync', 'allow_other',
  'default_permissions', 'allow_root'])
const MOUNT8_FLAGS = new Set(['defaults', 'auto', 'noauto', 'user', 'nouser', 'users', 'owner', 'group', 'nofail',
  '_netdev', 'silent', 'loud', 'lazytime', 'nolazytime'])

// fuse-overlayfs options that change nothing here: strata always serves
// many requests at once and keeps inode numbers stable (README, "As
// fuse-overlayfs").
const NOOP_FUSE_OVERLAYFS = new Set(['threaded', 'fast_ino', 'writeback'])
// Kernel overlayfs options that callers pass along with the layers. Their
// strata meaning is in the same README section: index and nfs_export
// need file handles strata does not hand out, metacopy is a copy-up
// shortcut strata does not take, and xino is what strata's st_ino always is.
const KERNEL_OVERLAY = new Map<string, RegExp>([
  ['redirect_dir', /^(on|off|follow|nofollow)$/], ['index', /^(on|off)$/], ['metacopy', /^(on|off)$/],
  ['xino', /^(on|off|auto)$/], ['nfs_export', /^(on|off)$/], ['uuid', /^(on|off|null|auto)$/],
])
// SELinux labels: a kernel mount option where SELinux is on, and nothing
// where it is off (the kernel would refuse them then).
const SELINUX = new Set(['context', 'fscontext', 'defcontext', 'rootcontext'])

const selinuxOn = (): boolean => fs.existsSync('/sys/fs/selinux/enforce')

const idNumber = (key: string, val: string): number => {
  if (!/^\d+$/.test(val) || Number(val) > 0xffffffff) throw errnoError('EINVAL', `${key}=${val}: expected a numeric id`)
  return Number(val)
}

export interface MountArgs {
  mountpoint: string
  lowerdir?: string
  upperdir?: string
  workdir?: string
  options?: string[]
  debug?: boolean
  /**
   * Layers of the store mounted by name: like removable media (udisks,
   * fusermount), no device nodes or setuid unless -o dev,suid asks.
   */
  byName?: boolean
  /**
   * A container of strata's own store, which strata itself commits and
   * diffs (and so can write renamed directories out): redirect_dir=on
   * unless the options say otherwise. Raw mounts keep the kernel default.
   */
  ownContainer?: boolean
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
  const o = {
    volatile: false,
    fsync: true,
    uidmap: [] as IdRange[],
    gidmap: [] as IdRange[],
    squashUid: undefined as number | undefined,
    squashGid: undefined as number | undefined,
    staticNlink: false,
    userxattr: false,
    acl: true,
    xattrPermissions: 0
  }
  const kernelOverlay: Record<string, string> = {}
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
      else if (key === 'ro') { readOnly = true; fuseOptions.push('ro') } else if (key === 'volatile' && !val) { o.volatile = true; o.fsync = false } else if (key === 'fsync' && /^[01]$/.test(val)) { o.fsync = o.fsync && val === '1' } else if (key === 'uidmapping') { o.uidmap = parseIdRanges(key, val) } else if (key === 'gidmapping') { o.gidmap = parseIdRanges(key, val) } else if (key === 'squash_to_root' && !val) { o.squashUid = 0; o.squashGid = 0 } else if (key === 'squash_to_uid') { o.squashUid = idNumber(key, val) } else if (key === 'squash_to_gid') { o.squashGid = idNumber(key, val) } else if (key === 'static_nlink' && !val) { o.staticNlink = true } else if (key === 'userxattr' && !val) { o.userxattr = true } else if (key === 'noacl' && !val) { o.acl = false } else if (key === 'xattr_permissions') {
        if (!/^[012]$/.test(val)) throw errnoError('EINVAL', `mount option "${opt}": xattr_permissions takes 0, 1 (security.* xattr) or 2 (user.* xattr)`)
        o.xattrPermissions = Number(val)
      } else if (NOOP_FUSE_OVERLAYFS.has(key)) continue
      else if (KERNEL_OVERLAY.has(key) && KERNEL_OVERLAY.get(key)!.test(val)) kernelOverlay[key] = val
      else if (SELINUX.has(key) && val) { if (selinuxOn()) fuseOptions.push(opt) } else if (KERNEL_FLAGS.has(key)) fuseOptions.push(opt)
      else if (MOUNT8_FLAGS.has(key) || key.startsWith('x-') || key.startsWith('comment=')) continue
      else throw errnoError('EINVAL', `unknown mount option "${opt}"`)
    }
  }
  if (!Number.isFinite(timeout) || timeout < 0) throw errnoError('EINVAL', 'timeout= takes a number of seconds')
  if (!lowerdir) throw errnoError('EINVAL', 'no lowerdir given (--lowerdir A:B or -o lowerdir=A:B)')
  if ((upperdir === undefined) !== (workdir === undefined)) throw errnoError('EINVAL', 'upperdir and workdir go together')
  if (!fs.existsSync('/dev/fuse')) throw errnoError('ENODEV', '/dev/fuse is missing: load the fuse module (modprobe fuse)')
  const mountpoint = checkDir('mountpoint', a.mountpoint)
  // checkDir has stat'ed it already; statx says it without reading the
  // mount table, which grows with every container on the host (0.8 ms at
  // 300 mounts, on every container start).
  if (native.isMountRoot(mountpoint) ?? isMounted(mountpoint)) throw errnoError('EBUSY', `mountpoint ${mountpoint} is busy: something is already mounted there`)
  const lowerdirs = lowerdir.split(':').filter(Boolean).map((d) => checkDir('lowerdir', d))
  if (a.ownContainer && kernelOverlay.redirect_dir === undefined) kernelOverlay.redirect_dir = 'on'
  // strata's commit and diff read the upper's real owners: records would be lost.
  if (a.ownContainer && o.xattrPermissions) {
    throw errnoError('EINVAL', `mount option "xattr_permissions=${o.xattrPermissions}": not for a container of the store (strata commit takes real owners); mount raw layers with -o lowerdir=…`)
  }
  const req: MountRequest = { mountpoint, lowerdirs, fuseOptions, readOnly: readOnly || !upperdir, timeout, debug, ...o, kernelOverlay }
  // ACL entries name real owners; under xattr_permissions the owners the
  // kernel checks against are the recorded ones.
  if (o.uidmap.length || o.gidmap.length || o.squashUid !== undefined || o.squashGid !== undefined || o.xattrPermissions) req.acl = false
  // Only real root may set trusted.* xattrs: everyone else uses the
  // user.overlay.* forms, as the kernel's overlayfs does with userxattr.
  if (!isRealRoot() && !req.userxattr) req.userxattr = true
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
    if (!req.volatile) checkNotDirty(req.workdir)
  }
  for (const [what, d] of all) {
    if (inside(d, mountpoint)) throw errnoError('EINVAL', `${what} ${d} is inside the mountpoint ${mountpoint}`)
  }
  if (!fuseOptions.includes('ro') && !req.upperdir) fuseOptions.push('ro')
  if (process.getuid?.() === 0) {
    // Root mounts serve everyone, with the kernel checking permissions. Raw
    // layers (podman's mount_program) keep device nodes and setuid bits of
    // the image working (a rootfs); an image or container mounted by name
    // is treated like removable media unless -o dev,suid says otherwise.
    for (const x of ['allow_other', 'default_permissions']) if (!fuseOptions.includes(x)) fuseOptions.push(x)
    if (!fuseOptions.includes('nodev') && !fuseOptions.includes('dev')) fuseOptions.push(a.byName ? 'nodev' : 'dev')
    if (!fuseOptions.includes('nosuid') && !fuseOptions.includes('suid')) fuseOptions.push(a.byName ? 'nosuid' : 'suid')
  } else if (!fuseOptions.includes('default_permissions')) {
    fuseOptions.push('default_permissions')
  }
  return req
}

/**
 * Whether renaming a directory with lower parts writes a redirect
 * (redirect_dir=on) or fails with EXDEV (off, follow, nofollow: callers then
 * copy, as mv does). Redirects found in lowers are always followed. With no
 * option, the kernel overlay module's own default (its redirect_dir
 * parameter, off on Debian) so that strata and the kernel make the same
 * trees, and a caller that diffs the upper itself (containers/storage) never
 * meets a redirect it did not ask for.
 */
export function redirectDirOn (req: MountRequest): boolean {
  const v = req.kernelOverlay.redirect_dir
  if (v !== undefined) return v === 'on'
  try {
    return fs.readFileSync('/sys/module/overlay/parameters/redirect_dir', 'utf8').trim() === 'Y'
  } catch {
    return false
  }
}
