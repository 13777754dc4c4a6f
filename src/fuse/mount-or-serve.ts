// What `strata mount` and fuse-overlayfs's command line do with a checked
// request: start the daemon and return once the mount is live, or (-f,
// --debug) serve it in this process until it is unmounted. Resolves with
// the exit code.
import { mountInBackground } from './mount-in-background.js'
import { dropOwnRecord } from './mount-daemon.js'
import type { MountRequest } from './mount-options.js'
import type { ServeOptions } from './serve.js'

export async function mountOrServe (req: MountRequest, foreground: boolean, o: ServeOptions = {}): Promise<number> {
  if (!foreground) {
    await mountInBackground(req)
    return 0
  }
  // serve() pulls in the union and the addon: only a foreground mount needs them here.
  const { serve } = await import('./serve.js')
  const code = await serve(req, o) === 0 ? 0 : 1
  dropOwnRecord(req.mountpoint)
  return code
}
