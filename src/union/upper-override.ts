// Which override xattr (xattr_permissions) the upper keeps owners in, made
// ready on its root: the option's name, or (as fuse-overlayfs reads an
// upper) whatever its root carries. With the option, a root without one
// first gets the lowers' root value (a layer made with force_mask), else its
// own owner and mode, as fuse-overlayfs does at mount. Idempotent: the mount
// calls it before its mount syscall (a refusal fails the command) and the
// union again when it is built, then finding the name set.
import { native, S_UID, S_GID, S_MODE } from '../native/binding.js'
import { errnoError } from '../base/errno-error.js'
import type { LayerSource } from './layer-source.js'
import type { UpperDir } from './upper-dir.js'
import { detectOverride, overrideForOption, formatOverride, CONTAINERS_OVERRIDE } from './stat-override.js'

export function initUpperOverride (upper: UpperDir, layers: readonly LayerSource[], option: number): string | null {
  const name = overrideForOption(option)
  if (name === null) return detectOverride((x) => native.getxattr(upper.root, '', x))
  if (native.getxattr(upper.root, '', name) !== null) return name
  let v: Buffer | null = null
  for (const l of layers) {
    v = l.getxattr(l.root, '', name) ?? (option === 2 ? l.getxattr(l.root, '', CONTAINERS_OVERRIDE) : null)
    if (v !== null) break
  }
  if (v === null) {
    const st = native.fstat(upper.root)
    v = formatOverride(st[S_UID], st[S_GID], st[S_MODE])
  }
  try {
    native.setxattr(upper.root, '', name, v, 0)
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'EIO'
    const hint = option === 1 ? ' (security.* xattrs need CAP_SYS_ADMIN; xattr_permissions=2 keeps them in user.*)' : ''
    throw errnoError(code, `xattr_permissions=${option}: cannot set ${name} on upperdir ${upper.upperPath}: ${code}${hint}`)
  }
  return name
}
