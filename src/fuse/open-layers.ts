// Opens the directories of a mount request, before the mount syscall: a
// caller may take its paths away as soon as the mount command returns
// (containers/storage detaches the id-mapped lower mounts it made for the
// mount program), so, as the kernel's overlayfs resolves its dirs at the
// mount syscall, every layer is held by an fd from here on, and a dir that
// cannot be opened fails the command before anything is mounted. What the
// union builds from them comes after (build-union.ts).
import { DirLayer } from '../union/dir-layer.js'
import { UpperDir } from '../union/upper-dir.js'
import type { LayerSource } from '../union/layer-source.js'
import { useUserXattrs } from '../union/whiteout.js'
import { initUpperOverride } from '../union/upper-override.js'
import type { MountRequest } from './mount-options.js'
import { withContext } from '../base/errno-error.js'

export interface OpenLayers {
  lowers: LayerSource[]
  upper: UpperDir | null
}

/** The failure said with the dir at fault in front (the syscall's own message names only a relative name). */
function named<T> (what: string, open: () => T): T {
  try {
    return open()
  } catch (err) {
    throw withContext(err, what)
  }
}

/** Each opened dir is closed again if a later one fails (a spare serves on after a failed line). */
export function openLayers (req: MountRequest, openLayer?: (dir: string) => LayerSource): OpenLayers {
  if (req.userxattr) useUserXattrs()
  const opened: OpenLayers = { lowers: [], upper: null }
  try {
    for (const d of req.lowerdirs) opened.lowers.push(named(`lowerdir ${d}`, () => openLayer ? openLayer(d) : new DirLayer(d)))
    const { upperdir, workdir } = req
    const upper = upperdir && workdir ? named(`upperdir ${upperdir}, workdir ${workdir}`, () => new UpperDir(upperdir, workdir)) : null
    opened.upper = upper
    if (upper) upper.durable = req.fsync
    // The option's record on the upper root: refused (no CAP_SYS_ADMIN for =1) before the mount.
    if (upper && req.xattrPermissions) initUpperOverride(upper, opened.lowers, req.xattrPermissions)
    return opened
  } catch (err) {
    closeLayers(opened)
    throw err
  }
}

/** Closes the layers' dirs: for a mount that failed before a union took them. */
export function closeLayers ({ lowers, upper }: OpenLayers): void {
  for (const l of lowers) l.close()
  upper?.close()
}
