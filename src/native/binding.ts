// The typed face of the strata_native addon (native/*.cc). Every signature
// here matches the C++ exactly; names travel as latin1 strings so that any
// byte sequence in a file name survives the trip. Errors thrown by these
// functions look like node:fs errors (code, errno, syscall, path).
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { FUSE_REQUESTS_DIGEST, type FuseDispatch } from './fuse-requests.js'

/** Stat as returned by the addon: a Float64Array indexed by the S_* constants. */
export type RawStat = Float64Array
export const S_DEV = 0
export const S_INO = 1
export const S_MODE = 2
export const S_NLINK = 3
export const S_UID = 4
export const S_GID = 5
export const S_RDEV = 6
export const S_SIZE = 7
export const S_BLKSIZE = 8
export const S_BLOCKS = 9
export const S_ATIME = 10
export const S_ATIME_NS = 11
export const S_MTIME = 12
export const S_MTIME_NS = 13
export const S_CTIME = 14
export const S_CTIME_NS = 15
export const STAT_LEN = 16

/** Bits of the open reply. */
export const OPEN_KEEP_CACHE = 1
export const OPEN_CACHE_READDIR = 8
/** The fd is a lower file's: reopenLower() points it at the upper copy after a copy-up. */
export const OPEN_LOWER = 16
/** The fh is a regular file's backing fd (not a directory handle): it may be passed through. */
export const OPEN_FILE = 32

/** What the session's FUSE passthrough negotiated and did (native/passthrough.h). */
export interface PassthroughStats {
  /** the kernel offered FUSE_PASSTHROUGH in INIT */
  offered: boolean
  /** and the session took it */
  enabled: boolean
  /** the backing ioctl was refused (no CAP_SYS_ADMIN): every open takes the cached path */
  denied: boolean
  /** lower files may be passed through (no upper layer) */
  lowers: boolean
  passthroughOpens: number
  cachedOpens: number
  backingOpens: number
  failed: number
  lastError: number
}

/**
 * A copy-up for native/copy-up.cc to carry out, fields read by name: the
 * entry is made as tmpName in work, given its owner (chown), the xattrs in
 * order, mode and times, and renamed to name in parent, whose times are
 * put back afterwards.
 */
export interface CopyUpJob {
  work: number
  tmpName: string
  parent: number
  name: string
  chown: boolean
  uid: number
  gid: number
  xattrNames: string[]
  xattrValues: Buffer[]
  mode: number
  atime: number
  atimeNs: number
  mtime: number
  mtimeNs: number
}

/** A regular file's: its data too, and built unnamed (O_TMPFILE) where allowed. */
export interface CopyUpFileJob extends CopyUpJob {
  /** The lower file open read-only, or -1: no data to copy. */
  from: number
  length: number
  tmpfile: boolean
  /** fsync before the copy gets its name. */
  sync: boolean
}

export interface NativeConstants {
  AT_FDCWD: number;
  AT_SYMLINK_NOFOLLOW: number;
  AT_REMOVEDIR: number;
  AT_EMPTY_PATH: number
  O_PATH: number;
  O_DIRECTORY: number;
  O_NOFOLLOW: number;
  O_RDONLY: number;
  O_WRONLY: number
  O_RDWR: number;
  O_CREAT: number;
  O_EXCL: number;
  O_TRUNC: number;
  O_APPEND: number
  O_ACCMODE: number;
  O_NOATIME: number;
  O_DIRECT: number
  /** Open flags no backing file is opened with (native/attr-rules.h, the one definition). */
  BACKING_OPEN_DROP: number
  RENAME_NOREPLACE: number;
  RENAME_EXCHANGE: number;
  RENAME_WHITEOUT: number
  UTIME_NOW: number;
  UTIME_OMIT: number;
  XATTR_CREATE: number;
  XATTR_REPLACE: number
  MNT_DETACH: number;
  MNT_FORCE: number;
  NAME_MAX: number
  LOCK_EX: number;
  LOCK_SH: number;
  LOCK_UN: number;
  LOCK_NB: number
  MS_RDONLY: number;
  MS_NOSUID: number;
  MS_NODEV: number;
  MS_NOEXEC: number;
  MS_BIND: number
  MS_REC: number;
  MS_PRIVATE: number;
  MS_REMOUNT: number
}

export interface Native {
  constants: NativeConstants
  openat(dirfd: number, name: string, flags: number, mode: number): number
  close(fd: number): void
  fstatat(dirfd: number, name: string, flags: number): RawStat
  /** null when the name does not exist (ENOENT/ENOTDIR); never follows a final symlink. */
  lstatAtOrNull(dirfd: number, name: string): RawStat | null
  fstat(fd: number): RawStat
  mkdirat(dirfd: number, name: string, mode: number): void
  mknodat(dirfd: number, name: string, mode: number, rdev: number): void
  symlinkat(target: string, dirfd: number, name: string): void
  readlinkat(dirfd: number, name: string): string
  linkat(olddirfd: number, oldname: string, newdirfd: number, newname: string, flags: number): void
  unlinkat(dirfd: number, name: string, flags: number): void
  renameat2(olddirfd: number, oldname: string, newdirfd: number, newname: string, flags: number): void
  fchmodat(dirfd: number, name: string, mode: number): void
  fchmod(fd: number, mode: number): void
  fchownat(dirfd: number, name: string, uid: number, gid: number, flags: number): void
  fchown(fd: number, uid: number, gid: number): void
  utimensat(dirfd: number, name: string, aSec: number, aNsec: number, mSec: number, mNsec: number, flags: number): void
  futimens(fd: number, aSec: number, aNsec: number, mSec: number, mNsec: number): void
  ftruncate(fd: number, size: number): void
  fsync(fd: number, dataOnly?: boolean): void
  pwrite(fd: number, data: Buffer, offset: number): number
  /** Xattrs of (dirfd, name) without following a final symlink; name '' is dirfd itself; null when absent. */
  getxattr(dirfd: number, name: string, xname: string): Buffer | null
  listxattr(dirfd: number, name: string): string[]
  setxattr(dirfd: number, name: string, xname: string, value: Buffer, flags: number): void
  removexattr(dirfd: number, name: string, xname: string): void
  /** [names, d_types, d_inos] without "." and "..". */
  readdir(dirfd: number): [string[], Uint8Array, Float64Array]
  /** [bsize, blocks, bfree, bavail, files, ffree, namelen, frsize, type] */
  statfs(fd: number): Float64Array
  umount2(path: string, flags: number): void
  /**
   * Whether something is mounted at `path` (statx STATX_ATTR_MOUNT_ROOT),
   * or null where the kernel does not tell. Stats the path: never one this
   * process serves.
   */
  isMountRoot(path: string): boolean | null
  raiseNofileLimit(): number
  makedev(major: number, minor: number): number
  /** dup2(2): makes fd2 a copy of fd. */
  dup2(fd: number, fd2: number): void
  /** fcntl(F_SETFL) without O_NONBLOCK. */
  clearNonblock(fd: number): void
  /** flock(2); false when LOCK_NB finds the lock held. */
  flock(fd: number, op: number): boolean
  /**
   * A regular file's copy-up, on the libuv pool (native/copy-up.h): true
   * when the work dir refused O_TMPFILE and a named temp was used. A
   * rejection carries tmpfileRefused the same way.
   */
  copyUpFile(job: CopyUpFileJob): Promise<boolean>
  /** The same, inline: for a copy that waits on no fsync and is small. */
  copyUpFileSync(job: CopyUpFileJob): boolean
  /** A directory's copy-up, inline: the new upper dir, open. */
  copyUpDir(job: CopyUpJob): number
  /** The abstract socket name of a spare of this process's identity and of the build in `dist` ('' if incomplete): native/spare-key.h. */
  spareName(dist: string): string
  /** Listens on abstract `name`; null when a spare already does. */
  spareListen(name: string): number | null
  /**
   * Blocks until a caller of this process's identity hands over a request
   * (then told "go"): its connection, stdin/stdout/stderr and payload
   * (native/spare-wire.h); null at the deadline.
   */
  spareAccept(listenFd: number, timeoutMs: number): { conn: number, fds: [number, number, number], payload: Buffer } | null
  /**
   * Hands a request (native/spare-wire.h) to a spare of this process's kind:
   * its readiness line ('' if none), or null when no spare took it.
   */
  spareHandOff(dist: string, args: string[], cwd: string, env: string[], stdio: [number, number, number]): string | null
  /** Rewrites /proc/self/cmdline in place, cut at the room the process started with; the bytes kept. */
  setCmdline(args: string[]): number
  /** True once process `pid` (any, not only a child) has exited, or the file `gonePath` (if given) is removed; false at the timeout. */
  waitExit(pid: number, timeoutMs: number, gonePath?: string): Promise<boolean>

  mount(source: string, target: string, fstype: string, flags: number, data: string): void
  sethostname(name: string): void
  /** noFsync: fsync and fsyncdir succeed without reaching the upper (volatile, fsync=0);
   * posixAcl: FUSE's POSIX ACL mode (the kernel enforces and caches ACLs). */
  fuseMount(mountpoint: string, options: string, dispatch: FuseDispatch, debug: boolean, noFsync: boolean, posixAcl: boolean, privateXattrPrefix: string): void
  /** The digest of native/fuse-requests.json this addon was built from. */
  fuseRequestsDigest: string
  fuseUnmount(): void
  /** Holds (true) or releases new changes to the upper layer, native and JS alike. */
  fusePause(on: boolean): void
  /** Changes under way; 0 once a pause has taken hold. */
  fuseInflight(): number
  /** Each reply returns false if the request was already answered or the session ended. */
  replyErr(id: number, errno: number): boolean
  replyEntry(id: number, nodeid: number, generation: number, attr: RawStat, entryTimeout: number, attrTimeout: number): boolean
  replyCreate(id: number, nodeid: number, generation: number, attr: RawStat, entryTimeout: number, attrTimeout: number, fd: number, openBits: number): boolean
  replyAttr(id: number, attr: RawStat, timeout: number): boolean
  replyReadlink(id: number, target: string): boolean
  replyOpen(id: number, fh: number, openBits: number, closeOnFail?: boolean): boolean
  replyBuf(id: number, data: Buffer): boolean
  replyXattrSize(id: number, size: number): boolean
  replyStatfs(id: number, stat: Float64Array): boolean
  /** Returns how many entries fitted (-1: request gone). */
  replyDir(id: number, size: number, names: string[], inos: Float64Array, types: Uint8Array, offs: Float64Array): number
  replyDirPlus(id: number, size: number, names: string[], offs: Float64Array, nodeids: Float64Array, attrs: RawStat[], entryTimeouts: Float64Array, attrTimeouts: Float64Array): number
  /** Drops the kernel's cached attributes of a node. */
  notifyInvalInode(nodeid: number): void
  /**
   * Registers a node whose attributes never change, so GETATTR (and, when
   * `openable`, read-only OPEN of dirfd/name) is answered natively.
   * The caller keeps dirfd open until fastDrop(nodeid).
   */
  fastSet(nodeid: number, dirfd: number, name: string, attr: RawStat, attrTimeout: number, openable: boolean): void
  /**
   * Registers an upper non-directory at (dirfd, name), or an upper directory
   * at its own fd (name ''): GETATTR (with st_ino replaced by `ino`, and
   * st_nlink by `nlink` unless 0), SETATTR, xattr reads and, for a
   * non-directory, OPEN in any mode are then answered natively, live from
   * the upper entry. The caller keeps dirfd open until fastDrop(nodeid).
   * `alone`: the directory has no lower part, so a LOOKUP of a name its
   * upper dir lacks (ENOENT there) is answered natively with a negative
   * entry.
   */
  fastSetUpper(nodeid: number, dirfd: number, name: string, ino: number, attrTimeout: number, nlink: number, alone: boolean): void
  /**
   * STATFS is answered natively with fd's filesystem (the union's statfs
   * rule: the upper's root) until the session ends; -1 leaves it to JS.
   * The caller keeps fd open for the session.
   */
  fastStatfs(fd: number): void
  /** A registered upper directory's new link count (see fastSetUpper). */
  fastSetNlink(nodeid: number, nlink: number): void
  fastDrop(nodeid: number): void
  /**
   * Entries of `parent` made ahead (native/entry-index.h): each holds one
   * lookup reference of its node, which a LOOKUP answered natively passes
   * to the kernel.
   */
  entryIndexSet(parent: number, names: string[], nodeids: Float64Array, attrs: RawStat[], entryTimeout: number, attrTimeouts: Float64Array): void
  /** Takes (parent, name)'s entry back: its node id, or 0 if not indexed (any more). */
  entryIndexTake(parent: number, name: string): number
  /** Takes every entry of `parent` back: their node ids. */
  entryIndexDrop(parent: number): Float64Array
  /**
   * How long the kernel may cache a node's attributes (native/attr-rules.h,
   * the rule the fast path applies too): 0 for an upper non-directory with
   * more than one link, else `timeout`.
   */
  attrTimeout(upper: boolean, mode: number, nlink: number, timeout: number): number
  /**
   * Applies setattr's `valid` bits (FUSE_SET_ATTR_*) from `attr` to (dirfd,
   * name), or to dirfd's own file when name is '': size (through `fh` when
   * >= 0), owner, permission bits, times; the fast path's SETATTR makes the
   * same calls (native/attr-rules.h). Throws an errno error.
   */
  setattrAt(dirfd: number, name: string, fh: number, valid: number, attr: RawStat): void
  /**
   * Registers a directory whose OPENDIR the loop threads then answer with
   * `openBits` and a handle of their own (>= nativeDirFhBase), no JS call;
   * RELEASEDIR of such a handle reaches JS only if a READDIR on it did.
   */
  dirStable(nodeid: number, openBits: number): void
  /** Sends the directory's OPENDIR to JS again; called before it changes. */
  dirUnstable(nodeid: number): void
  /**
   * JS has dropped its listing for native handle `fh` after sending entries
   * up to offset `end`: READDIRs there are answered natively (empty) and its
   * RELEASEDIR no longer reaches JS. Call before that last reply.
   */
  dirAtEnd(fh: number, end: number): void
  /** Directory handles from this number up were opened natively: they name no listing yet. */
  nativeDirFhBase: number
  /**
   * After a copy-up of `nodeid` to (dirfd, name): every read-only fd still
   * open on its lower file (fast-path opens and replyOpen with OPEN_LOWER)
   * is made to read the upper copy. Returns how many were switched.
   */
  reopenLower(nodeid: number, dirfd: number, name: string): number
  /**
   * Lets lower files be opened for passthrough: only sound where no copy-up
   * can follow (a mount without an upper layer), since the kernel keeps
   * reading the file it was given.
   */
  passthroughAllowLowers(allow: boolean): void
  passthroughStats(): PassthroughStats
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(import.meta.url)

function load (): Native {
  try {
    return require(path.join(root, 'build', 'Release', 'strata_native.node')) as Native
  } catch (err) {
    const e = new Error(`strata: the native addon is not built (${(err as Error).message}); run scripts/setup or npm run build`) as Error & { code: string }
    e.code = 'ENOENT'
    throw e
  }
}

export const native: Native = load()
// An addon built from another request declaration would hand JS shifted
// fields: refuse it rather than serve a mount with it.
if (native.fuseRequestsDigest !== FUSE_REQUESTS_DIGEST) {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- an addon built from older sources may lack the field
  throw Object.assign(new Error(`strata: the native addon was built from another native/fuse-requests.json (${String(native.fuseRequestsDigest)}, want ${FUSE_REQUESTS_DIGEST}); run scripts/build`), { code: 'ENOEXEC' })
}
export const C = native.constants
