// Serves one union mount in this process until it is unmounted or signalled.
// The process must never touch its own mount (it would deadlock): all it does
// is answer requests. Readiness is written to the fd named by
// STRATA_READY_FD ("ok <pid>" or "error <message>") for whoever started it.
import fs from 'node:fs'
import { native } from '../native/binding.js'
import { DirLayer } from '../union/dir-layer.js'
import { UpperDir } from '../union/upper-dir.js'
import { UnionFs } from '../union/union-fs.js'
import { LowLevelAdapter } from './lowlevel-adapter.js'
import { redirectDirOn, type MountRequest } from './mount-options.js'
import type { LayerSource } from '../union/layer-source.js'
import { servePauseRequests } from './pause-control.js'
import { useUserXattrs } from '../union/whiteout.js'
import { IdMapping } from './id-mapping.js'
import { mappedUnion, needsView } from './mapped-union.js'
import { markDirty } from './volatile-marker.js'

function tell (line: string): void {
  const fd = Number(process.env.STRATA_READY_FD)
  if (!Number.isInteger(fd) || fd < 0) return
  try {
    fs.writeSync(fd, line + '\n')
    fs.closeSync(fd)
  } catch { /* the starter went away; nothing to tell */ }
  delete process.env.STRATA_READY_FD
}

/** Mounts and serves; resolves with the loop's exit code once unmounted. */
export interface ServeOptions {
  /** The layer source of a lower dir (a lazily pulled layer's is not a DirLayer); default DirLayer. */
  openLayer?: (dir: string) => LayerSource
}

export async function serve (req: MountRequest, o: ServeOptions = {}): Promise<number> {
  let union: UnionFs
  let adapter: LowLevelAdapter | undefined
  try {
    process.umask(0) // modes arrive already masked by the kernel
    native.raiseNofileLimit()
    if (req.userxattr) useUserXattrs()
    const layers = req.lowerdirs.map((d) => o.openLayer ? o.openLayer(d) : new DirLayer(d))
    const upper = req.upperdir && req.workdir ? new UpperDir(req.upperdir, req.workdir) : null
    if (upper) upper.durable = req.fsync
    if (upper && req.volatile) markDirty(req.workdir!)
    union = new UnionFs(layers, upper, { timeout: req.timeout, onChange: (id) => adapter?.changed(id), onCopyUp: (id, dirfd, name) => adapter?.copiedUp(id, dirfd, name), redirectDir: redirectDirOn(req), xattrPermissions: req.xattrPermissions })
    // Native code answers upper GETATTRs and xattr reads with the layers'
    // own owners and trusted.overlay.* filter: not in a mapped or userxattr mount.
    const ids = new IdMapping(req)
    const view = { ids, staticNlink: req.staticNlink, nativeUpper: !req.userxattr && !ids.active }
    if (needsView(view)) union = mappedUnion(union, view)
  } catch (err) {
    tell(`error ${(err as Error).message}`)
    throw err
  }
  let stopPause = (): void => {}
  return await new Promise<number>((resolve, reject) => {
    adapter = new LowLevelAdapter(union, {
      debug: req.debug,
      onExit: (code) => {
        stopPause()
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        resolve(code)
      },
    })
    const stop = (): void => {
      native.fuseUnmount()
      // A mount still busy keeps the session alive after a lazy unmount; a
      // signal means stop now.
      setTimeout(() => { process.exit(0) }, 2000).unref()
    }
    try {
      const opts = ['fsname=strata', 'subtype=strata', ...req.fuseOptions].join(',')
      native.fuseMount(req.mountpoint, opts, adapter.dispatch, req.debug, !req.fsync, req.acl)
    } catch (err) {
      const msg = `cannot mount ${req.mountpoint}: ${(err as Error).message}`
      tell(`error ${msg}`)
      reject(Object.assign(new Error(msg), { code: (err as { code?: string }).code ?? 'EIO' }))
      return
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    stopPause = servePauseRequests(req.mountpoint)
    tell(`ok ${process.pid}`)
  })
}
