// Fetches an eStargz layer's table of contents by two Range requests (the
// footer, then the TOC's gzip member) and verifies it against the layer
// descriptor's toc.digest annotation — which the verified manifest carries,
// so the TOC, and through its chunk digests every byte read later, is as
// trusted as the manifest. Sizes are bounded before anything is allocated.
import zlib from 'node:zlib'
import crypto from 'node:crypto'
import { errnoError } from '../base/errno-error.js'
import type { Descriptor } from '../oci/oci-types.js'
import { FOOTER_SIZE, TOC_DIGEST, TOC_NAME, cleanTocName, parseFooter, type Toc } from '../oci/estargz.js'
import { readTar } from '../image/tar-reader.js'
import type { TarHeader } from '../image/tar-header.js'
import type { RegistryClient } from './registry-client.js'
import { readRange, type RangeOptions } from './range-read.js'

/** A TOC bigger than this is refused (a million entries is ~300 MiB of JSON; this is plenty). */
const MAX_TOC = 256 << 20

export interface FetchedToc {
  toc: Toc
  json: Buffer
  /** The tar header of stargz.index.json, for the skeleton to hold the file as a plain pull would. */
  header: TarHeader
  tocOffset: number
  /** The blob's bytes read for it (the TOC's gzip member, then the footer), kept for the layer's fill. */
  read: Array<{ offset: number, data: Buffer }>
}

export async function fetchToc (client: RegistryClient, repository: string, desc: Descriptor, o: RangeOptions = {}): Promise<FetchedToc> {
  const what = `layer ${desc.digest}`
  const want = desc.annotations?.[TOC_DIGEST]
  if (!want) throw errnoError('EINVAL', `${what} is not eStargz (no ${TOC_DIGEST} annotation)`)
  if (!Number.isSafeInteger(desc.size) || desc.size <= FOOTER_SIZE) throw errnoError('EBADMSG', `${what}: size ${desc.size} cannot hold an eStargz footer`)
  const footer = await readRange(client, repository, desc.digest, desc.size - FOOTER_SIZE, desc.size, o)
  const tocOffset = parseFooter(footer)
  if (tocOffset === null || tocOffset >= desc.size - FOOTER_SIZE) throw errnoError('EBADMSG', `${what}: no eStargz footer at its end`)
  if (desc.size - FOOTER_SIZE - tocOffset > MAX_TOC) throw errnoError('EFBIG', `${what}: its TOC is ${desc.size - FOOTER_SIZE - tocOffset} bytes compressed, more than strata reads`)
  const member = await readRange(client, repository, desc.digest, tocOffset, desc.size - FOOTER_SIZE, o)
  let tar: Buffer
  try {
    tar = zlib.gunzipSync(member, { maxOutputLength: MAX_TOC + 4096 })
  } catch {
    throw errnoError('EBADMSG', `${what}: its TOC is not valid gzip (or larger than ${MAX_TOC} bytes)`)
  }
  // eslint-disable-next-line @typescript-eslint/require-await, no-unreachable-loop -- readTar takes an AsyncIterable; only the first entry is wanted
  for await (const { header, body } of readTar((async function * () { yield tar })())) {
    if (cleanTocName(header.name) !== TOC_NAME || header.type !== 'file') throw errnoError('EBADMSG', `${what}: the TOC member holds ${header.name}, not ${TOC_NAME}`)
    const parts: Buffer[] = []
    for await (const c of body) parts.push(Buffer.from(c))
    const json = Buffer.concat(parts)
    const got = 'sha256:' + crypto.createHash('sha256').update(json).digest('hex')
    if (got !== want) throw errnoError('EBADMSG', `${what}: its TOC is ${got} but the manifest says ${want}`)
    let toc: Toc
    try {
      toc = JSON.parse(json.toString('utf8')) as Toc
    } catch {
      throw errnoError('EBADMSG', `${what}: its TOC is not JSON`)
    }
    if (toc.version !== 1 || !Array.isArray(toc.entries)) throw errnoError('EBADMSG', `${what}: TOC version ${toc.version} (strata reads version 1)`)
    return { toc, json, header, tocOffset, read: [{ offset: tocOffset, data: member }, { offset: desc.size - FOOTER_SIZE, data: footer }] }
  }
  throw errnoError('EBADMSG', `${what}: its TOC member is empty`)
}
