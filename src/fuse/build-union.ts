// The union of a mount request's opened layers, with the FUSE adapter in
// front of it: what serve() loads and builds only once the mount syscall has
// succeeded (the kernel holds the first requests until then, and serve
// queues them), so that none of these modules is on the path to the
// caller's "ok". Nothing here may be needed before the first request is
// answered. (The volatile marker is written by serve, before the mount, as
// the kernel writes it at its mount syscall.)
import { UnionFs } from '../union/union-fs.js'
import { LowLevelAdapter, type AdapterOptions } from './lowlevel-adapter.js'
import { redirectDirOn, type MountRequest } from './mount-options.js'
import { IdMapping } from './id-mapping.js'
import { mappedUnion, needsView } from './mapped-union.js'
import type { OpenLayers } from './open-layers.js'
import { failPoint } from '../base/kill-point.js'

export function buildUnion (req: MountRequest, { lowers, upper }: OpenLayers, o: AdapterOptions): LowLevelAdapter {
  failPoint('build-union')
  // The union tells the adapter of changes, and the adapter is made from the union.
  const ref: { adapter?: LowLevelAdapter } = {}
  let union = new UnionFs(lowers, upper, { timeout: req.timeout, onChange: (id) => ref.adapter?.changed(id), onEntriesChanged: (id) => ref.adapter?.entriesChanged(id), onCopyUp: (id, dirfd, name) => ref.adapter?.copiedUp(id, dirfd, name), redirectDir: redirectDirOn(req), xattrPermissions: req.xattrPermissions })
  // Native code answers upper GETATTRs and xattr reads with the layers'
  // own owners and trusted.overlay.* filter: not in a mapped or userxattr mount.
  const ids = new IdMapping(req)
  const view = { ids, staticNlink: req.staticNlink, nativeUpper: !req.userxattr && !ids.active }
  if (needsView(view)) union = mappedUnion(union, view)
  ref.adapter = new LowLevelAdapter(union, o)
  return ref.adapter
}
