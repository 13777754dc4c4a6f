// Reading a small registry response (a manifest, a config) into memory with
// a hard bound on the bytes actually received: Content-Length is only a
// claim, and a body sent without one (chunked) must not grow without end.
// Past the bound the body is cancelled and EFBIG names the thing.
import { errnoError } from '../base/errno-error.js'

/** Manifests and configs: 4 MiB, the limit containerd and the registries use. */
export const SMALL_LIMIT = 4 << 20

export async function readLimited (res: Response, limit: number, what: string): Promise<Buffer> {
  const claimed = res.headers.get('content-length')
  if (claimed !== null && Number(claimed) > limit) {
    await res.body?.cancel()
    throw errnoError('EFBIG', `${what} is larger than ${limit} bytes (the registry says ${claimed})`)
  }
  if (!res.body) return Buffer.alloc(0)
  const chunks: Buffer[] = []
  let got = 0
  const reader = res.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    got += value.length
    if (got > limit) {
      await reader.cancel()
      throw errnoError('EFBIG', `${what} is larger than ${limit} bytes (${got} received before giving up)`)
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.length))
  }
  return Buffer.concat(chunks, got)
}
