// The on-disk overlay vocabulary, as kernel overlayfs writes it (whiteout =
// char device 0/0, opaque = trusted.overlay.opaque "y") plus the OCI forms
// readers accept in lowers (.wh.NAME, .wh..wh..opq).
import { S_MODE, S_RDEV, type RawStat } from '../native/binding.js'
import { S_IFMT, S_IFCHR, S_IFDIR } from '../base/file-mode.js'

export const OPAQUE_XATTR = 'trusted.overlay.opaque'
export const IMPURE_XATTR = 'trusted.overlay.impure'
/** Where a renamed directory's lower parts are: a name in the same parent or "/an/absolute/path". */
export const REDIRECT_XATTR = 'trusted.overlay.redirect'
/** Our own record of the inode number an entry had before copy-up. Inside
 * the trusted.overlay. namespace so that kernel overlayfs hides it too. */
export const ORIGIN_XATTR = 'trusted.overlay.strata.origin'
export const PRIVATE_XATTR_PREFIX = 'trusted.overlay.'
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
export const DT_CHR = 2, DT_DIR = 4
