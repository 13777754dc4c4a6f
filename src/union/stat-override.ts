// Owners and modes kept in an xattr instead of the file's own (fuse-overlayfs's
// xattr_permissions, containers/storage's force_mask): "UID:GID:MODE", MODE
// in octal. A layer is in this mode when its root directory carries one of
// the names (fuse-overlayfs looks for them in this order); the upper also is
// when the mount says xattr_permissions=1 (security.*, needs CAP_SYS_ADMIN)
// or =2 (user.*). Only the uid, gid and permission bits are taken from the
// value: the file type stays the file's own. A file without the xattr (a
// symlink or FIFO, which take no user.* xattr) shows its real attributes.
// Written as fuse-overlayfs 1.10 writes it: the whole st_mode, type bits
// included, which every reader (its "%d:%d:%o" too) takes.
import { S_UID, S_GID, S_MODE, type RawStat } from '../native/binding.js'
import { S_IFMT } from '../base/file-mode.js'

export const PRIVILEGED_OVERRIDE = 'security.fuseoverlayfs.override_stat'
export const CONTAINERS_OVERRIDE = 'user.containers.override_stat'
export const USER_OVERRIDE = 'user.fuseoverlayfs.override_stat'
/** In the order fuse-overlayfs detects a layer's mode from its root. */
export const OVERRIDE_XATTRS = [PRIVILEGED_OVERRIDE, CONTAINERS_OVERRIDE, USER_OVERRIDE]

/** The xattr the upper keeps owners in for xattr_permissions=N (0: none). */
export function overrideForOption (n: number): string | null {
  return n === 1 ? PRIVILEGED_OVERRIDE : n === 2 ? USER_OVERRIDE : null
}

/** Which override a layer uses, from what its root carries; null for none. */
export function detectOverride (get: (xname: string) => Buffer | null): string | null {
  for (const x of OVERRIDE_XATTRS) {
    try {
      if (get(x) !== null) return x
    } catch { /* a filesystem without xattrs: no override */ }
  }
  return null
}

export interface Override { uid: number, gid: number, mode: number }

/** Parses "UID:GID:MODE[:…]" (later fields, containers/storage's file type, are left alone); null if malformed. */
export function parseOverride (v: Buffer): Override | null {
  const m = /^(\d+):(\d+):([0-7]+)(?::|$)/.exec(v.toString('latin1').replace(/\0+$/, ''))
  if (!m) return null
  const uid = Number(m[1])
  const gid = Number(m[2])
  if (uid > 0xffffffff || gid > 0xffffffff) return null
  return { uid, gid, mode: parseInt(m[3], 8) }
}

export function formatOverride (uid: number, gid: number, mode: number): Buffer {
  return Buffer.from(`${uid}:${gid}:${mode.toString(8)}`)
}

/** `st` with the owner and permission bits of the xattr value `v` (a copy; `st` itself is left as it is). */
export function applyOverride (st: RawStat, v: Buffer | null): RawStat {
  const o = v === null ? null : parseOverride(v)
  if (!o) return st
  const a = Float64Array.from(st)
  a[S_UID] = o.uid
  a[S_GID] = o.gid
  a[S_MODE] = (st[S_MODE] & S_IFMT) | (o.mode & 0o7777)
  return a
}

/**
 * The mode a file made or copied up under an override really has: the
 * daemon keeps owning its backing files (it may be unable to chown) and must
 * still reach them whatever the mount shows, so rwxr-xr-x or more and no
 * set-id bits, as fuse-overlayfs makes them.
 */
export function backingMode (mode: number): number {
  return (mode & 0o777) | 0o755
}
