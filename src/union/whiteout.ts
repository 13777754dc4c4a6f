// The on-disk overlay vocabulary, as kernel overlayfs writes it (whiteout =
// char device 0/0, opaque = trusted.overlay.opaque "y") plus the OCI forms
// readers accept in lowers (.wh.NAME, .wh..wh..opq).
import { S_MODE, S_RDEV, type RawStat } from '../native/binding.js'
import { S_IFMT, S_IFCHR, S_IFDIR } from '../base/file-mode.js'
import { isRealRoot } from '../base/real-root.js'

// `let`, not `const`: only real root may set trusted.* xattrs, so anyone
// else (a user, root of a user namespace) uses user.overlay.* throughout,
// as the kernel's overlayfs does with userxattr; a mount given userxattr
// switches to them before the union is built (useUserXattrs).
export let PRIVATE_XATTR_PREFIX = isRealRoot() ? 'trusted.overlay.' : 'user.overlay.'
export let OPAQUE_XATTR = PRIVATE_XATTR_PREFIX + 'opaque'
export let IMPURE_XATTR = PRIVATE_XATTR_PREFIX + 'impure'
/** Where a renamed directory's lower parts are: a name in the same parent or "/an/absolute/path". */
export let REDIRECT_XATTR = PRIVATE_XATTR_PREFIX + 'redirect'
/** Our own record of the inode number an entry had before copy-up. Inside
 * the overlay's namespace so that kernel overlayfs hides it too. */
export let ORIGIN_XATTR = PRIVATE_XATTR_PREFIX + 'strata.origin'

/** The user.overlay.* forms, for the whole process. user.* xattrs exist only
 * on files and directories, so an origin record is skipped elsewhere. */
export function useUserXattrs (): void {
  PRIVATE_XATTR_PREFIX = 'user.overlay.'
  OPAQUE_XATTR = PRIVATE_XATTR_PREFIX + 'opaque'
  IMPURE_XATTR = PRIVATE_XATTR_PREFIX + 'impure'
  REDIRECT_XATTR = PRIVATE_XATTR_PREFIX + 'redirect'
  ORIGIN_XATTR = PRIVATE_XATTR_PREFIX + 'strata.origin'
}
export const OCI_WHITEOUT_PREFIX = '.wh.'
export const OCI_OPAQUE = '.wh..wh..opq'

export { S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO } from '../base/file-mode.js'

export function isWhiteout (st: RawStat): boolean {
  return (st[S_MODE] & S_IFMT) === S_IFCHR && st[S_RDEV] === 0
}

export function isDir (st: RawStat): boolean {
  return (st[S_MODE] & S_IFMT) === S_IFDIR
}

export function isPrivateXattr (name: string): boolean {
  return name.startsWith(PRIVATE_XATTR_PREFIX)
}

/** d_type of a char device: whiteouts look like this in a listing. */
export const DT_CHR = 2
export const DT_DIR = 4
