// Owner translation between what the mount shows (container ids) and what
// the layers store (host ids): fuse-overlayfs's uidmapping=/gidmapping=
// (container:host:count triplets, ':'-separated) and squash_to_*. Reads go
// host → container, writes container → host. A host id outside every range
// reads as the overflow id 65534, as a user namespace shows it; a container
// id outside every range cannot be written (EINVAL, as chown(2) in a user
// namespace answers). Squash rewrites reads only: the layers keep real owners.
import { errnoError } from '../base/errno-error.js'

export interface IdRange { container: number, host: number, count: number }

export const OVERFLOW_ID = 65534

/** "0:100000:65536:…" → ranges; `what` names the option in errors. */
export function parseIdRanges (what: string, spec: string): IdRange[] {
  const nums = spec.split(':').map((s) => /^\d+$/.test(s) ? Number(s) : NaN)
  if (nums.length % 3 !== 0 || nums.some((n) => !Number.isSafeInteger(n) || n > 0xffffffff)) {
    throw errnoError('EINVAL', `${what}=${spec}: expected container:host:count triplets of numbers`)
  }
  const ranges: IdRange[] = []
  for (let i = 0; i < nums.length; i += 3) {
    const r = { container: nums[i], host: nums[i + 1], count: nums[i + 2] }
    if (r.count === 0) throw errnoError('EINVAL', `${what}=${spec}: a range of 0 ids`)
    ranges.push(r)
  }
  return ranges
}

function through (ranges: IdRange[], id: number, from: 'container' | 'host', to: 'container' | 'host'): number | null {
  for (const r of ranges) {
    if (id >= r[from] && id < r[from] + r.count) return r[to] + (id - r[from])
  }
  return null
}

export interface IdMappingSpec {
  uidmap?: IdRange[]
  gidmap?: IdRange[]
  squashUid?: number
  squashGid?: number
}

export class IdMapping {
  constructor (private readonly spec: IdMappingSpec) {}

  /** Does anything change between the layers and the mount? */
  get active (): boolean {
    const s = this.spec
    return (s.uidmap?.length ?? 0) > 0 || (s.gidmap?.length ?? 0) > 0 || s.squashUid !== undefined || s.squashGid !== undefined
  }

  uidOut (host: number): number {
    if (this.spec.squashUid !== undefined) return this.spec.squashUid
    if (!this.spec.uidmap?.length) return host
    return through(this.spec.uidmap, host, 'host', 'container') ?? OVERFLOW_ID
  }

  gidOut (host: number): number {
    if (this.spec.squashGid !== undefined) return this.spec.squashGid
    if (!this.spec.gidmap?.length) return host
    return through(this.spec.gidmap, host, 'host', 'container') ?? OVERFLOW_ID
  }

  uidIn (container: number): number {
    if (!this.spec.uidmap?.length) return container
    const h = through(this.spec.uidmap, container, 'container', 'host')
    if (h === null) throw errnoError('EINVAL', `uid ${container} is not mapped (uidmapping=)`)
    return h
  }

  gidIn (container: number): number {
    if (!this.spec.gidmap?.length) return container
    const h = through(this.spec.gidmap, container, 'container', 'host')
    if (h === null) throw errnoError('EINVAL', `gid ${container} is not mapped (gidmapping=)`)
    return h
  }
}
