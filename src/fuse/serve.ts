// Serves one union mount in this process until it is unmounted or signalled.
// The process must never touch its own mount (it would deadlock): all it does
// is answer requests. Readiness is written to the fd named by
// STRATA_READY_FD ("ok <pid>" or "error <message>") for whoever started it.
//
// "ok" goes out as soon as the mount syscall has succeeded: the kernel
// answers nothing on a new FUSE connection before INIT, which native code
// answers, and every request after it waits in `early` (in arrival order)
// until the union is built, so a caller that uses the mount at once is
// answered, only later. The layer dirs are opened before the mount (the
// caller may take their paths away once we return: open-layers.ts); the
// union modules are loaded after "ok". If building the union fails after
// "ok", the mount is detached (never left dead behind) and the failure
// logged; serve() then rejects.
import fs from 'node:fs'
import { native } from '../native/binding.js'
import { FuseOp, type FuseDispatch } from '../native/fuse-requests.js'
import type { MountRequest } from './mount-options.js'
import type { LayerSource } from '../union/layer-source.js'
import { servePauseRequests } from './pause-control.js'
import { errnoError } from '../base/errno-error.js'
import { closeLayers, openLayers, type OpenLayers } from './open-layers.js'
import type { LowLevelAdapter } from './lowlevel-adapter.js'
import { markDirty } from './volatile-marker.js'
import { PRIVATE_XATTR_PREFIX } from '../union/whiteout.js'

const EIO = 5

function tell (line: string): void {
  const fd = Number(process.env.STRATA_READY_FD)
  if (!Number.isInteger(fd) || fd < 0) return
  delete process.env.STRATA_READY_FD
  try {
    fs.writeSync(fd, line + '\n')
    fs.closeSync(fd)
  } catch { /* the starter went away; nothing to tell */ }
}

export interface ServeOptions {
  /** The layer source of a lower dir (a lazily pulled layer's is not a DirLayer); default DirLayer. */
  openLayer?: (dir: string) => LayerSource
  /**
   * Runs once mounted, before "ok" is told (a background daemon writes its
   * record and moves its output to its log there). A throw unmounts.
   */
  onMounted?: () => void
  /** Runs once the union answers (the requests that waited for it are in hand). */
  onReady?: () => void
}

/**
 * What opening the upper would refuse, checked before the mount (the union
 * itself is built after "ok"): a read-only or unwritable upper or work dir
 * is bad input, and must fail the command, not the mount a moment later.
 */
function checkWritable (req: MountRequest): void {
  for (const [what, dir] of [['upperdir', req.upperdir], ['workdir', req.workdir]] as const) {
    if (dir === undefined) continue
    try {
      fs.accessSync(dir, fs.constants.W_OK)
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'EACCES'
      throw errnoError(code, `${what} ${dir}: ${code === 'EROFS' ? 'on a read-only filesystem' : 'not writable'}`)
    }
  }
}

/** Mounts and serves; resolves with the loop's exit code once unmounted. */
export async function serve (req: MountRequest, o: ServeOptions = {}): Promise<number> {
  process.umask(0) // modes arrive already masked by the kernel
  native.raiseNofileLimit()
  let layers: OpenLayers | undefined
  try {
    checkWritable(req)
    layers = openLayers(req, o.openLayer)
    // As the kernel does at its mount syscall: a work dir that cannot take
    // the marker fails the command, not the mount after "ok".
    if (layers.upper && req.volatile) markDirty(req.workdir!)
  } catch (err) {
    if (layers) closeLayers(layers)
    tell(`error ${(err as Error).message}`)
    throw err
  }
  let target: FuseDispatch | null = null
  let early: Array<Parameters<FuseDispatch>> | null = []
  // The Promise executor runs at once: `ended` is set before anything can call it.
  let ended!: (code: number) => void
  const exited = new Promise<number>((resolve) => { ended = resolve })
  const dispatch: FuseDispatch = (...call) => {
    if (target) target(...call)
    else if (call[0] === FuseOp.EXIT) ended(call[3] as number)
    else early?.push(call)
  }
  try {
    const opts = ['fsname=strata', 'subtype=strata', ...req.fuseOptions].join(',')
    native.fuseMount(req.mountpoint, opts, dispatch, req.debug, !req.fsync, req.acl, PRIVATE_XATTR_PREFIX)
  } catch (err) {
    const msg = `cannot mount ${req.mountpoint}: ${(err as Error).message}`
    closeLayers(layers)
    tell(`error ${msg}`)
    throw Object.assign(new Error(msg), { code: (err as { code?: string }).code ?? 'EIO' })
  }
  const stop = (): void => {
    native.fuseUnmount()
    // A mount still busy keeps the session alive after a lazy unmount; a
    // signal means stop now.
    setTimeout(() => { process.exit(0) }, 2000).unref()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  // Before anyone can learn our PID (the record): a pause request is a signal.
  const stopPause = servePauseRequests(req.mountpoint)
  const done = (): void => {
    stopPause()
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
  let adapter: LowLevelAdapter | undefined
  try {
    o.onMounted?.()
    tell(`ok ${process.pid}`)
    const { buildUnion } = await import('./build-union.js')
    adapter = buildUnion(req, layers, { debug: req.debug, onExit: ended })
    target = adapter.dispatch
    const queued = early
    early = null
    for (const call of queued) adapter.dispatch(...call)
    // After what waited, before the caller's next step (it is still
    // returning from the mount): the root's first stat is then native.
    const primed = adapter
    setImmediate(() => { primed.prime() })
    o.onReady?.()
  } catch (err) {
    const msg = `cannot serve ${req.mountpoint}: ${(err as Error).message}`
    tell(`error ${msg}`)
    process.stderr.write(`strata: ${msg}; unmounting it\n`)
    // Nobody will answer these: fail them now rather than when the
    // connection goes (the session's teardown would, with ENOTCONN).
    for (const call of early ?? []) if (call[1] > 0) native.replyErr(call[1], EIO)
    early = null
    native.fuseUnmount()
    await exited
    done()
    closeLayers(layers)
    throw Object.assign(new Error(msg), { code: (err as { code?: string }).code ?? 'EIO' })
  }
  const code = await exited
  done()
  await adapter.close()
  return code
}
