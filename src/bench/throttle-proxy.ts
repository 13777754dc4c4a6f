// An HTTP proxy in front of a local registry that sends response bodies no
// faster than `bytesPerSecond` in all (one shared budget, as one network
// link would), so that transfer time dominates as it does off this machine;
// and counts the blob bytes it sent. Invariants: it listens on 127.0.0.1
// only; stop() closes the server and every connection it holds.
import http from 'node:http'
import type { Socket } from 'node:net'
import { Transform } from 'node:stream'

export interface ThrottleProxy {
  host: string
  /** Bytes of blob bodies (GET /v2/…/blobs/…) sent so far. */
  blobBytes: number
  stop(): Promise<void>
}

export async function startThrottleProxy (target: string, bytesPerSecond: number): Promise<ThrottleProxy> {
  let busyUntil = 0
  const sockets = new Set<Socket>()
  const agent = new http.Agent({ keepAlive: true })
  const proxy: ThrottleProxy = { host: '', blobBytes: 0, stop: async () => {} }
  const throttle = (count: boolean): Transform => new Transform({
    transform (chunk: Buffer, _enc, cb) {
      const pieces: Buffer[] = []
      for (let off = 0; off < chunk.length; off += 65536) pieces.push(chunk.subarray(off, off + 65536))
      const send = (): void => {
        const p = pieces.shift()
        if (!p) { cb(); return }
        const now = Date.now()
        const start = Math.max(now, busyUntil)
        busyUntil = start + (p.length * 1000) / bytesPerSecond
        setTimeout(() => {
          if (count) proxy.blobBytes += p.length
          this.push(p)
          send()
        }, busyUntil - now)
      }
      send()
    },
  })
  const server = http.createServer((req, res) => {
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers, agent }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers)
      const isBlob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')
      ur.pipe(throttle(isBlob)).pipe(res)
    })
    up.on('error', () => { res.destroy() })
    req.pipe(up)
  })
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.host = `127.0.0.1:${(server.address() as { port: number }).port}`
  proxy.stop = async () => {
    for (const s of sockets) s.destroy()
    agent.destroy()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
  return proxy
}
