// Owner translation between the ids stored in the layers and the ids the
// mount shows: fuse-overlayfs's uidmapping=/gidmapping=, LAYER:MOUNT:COUNT
// triplets (':'-separated, as fuse-overlayfs reads them: first the id on
// disk, then the id seen through the mount), and squash_to_*.
// containers/storage passes `uidmapping=:0:100000:65536` for a container
// whose uid 0 is host uid 100000: layers keep the image's own ids, the mount
// shows host ids, and the container's user namespace maps them back.
// Reads go layer → mount, writes mount → layer. An id outside every range
// becomes the overflow id 65534 either way, as fuse-overlayfs does (a caller
// outside the mapping, such as host root creating a mountpoint in a mapped
// container's rootfs, still gets a file). Squash rewrites reads only: the
// layers keep real owners.
import { errnoError } from '../base/errno-error.js'

export interface IdRange { layer: number, mount: number, count: number }

export const OVERFLOW_ID = 65534

/** "0:100000:65536:…" → ranges; `what` names the option in errors. */
export function parseIdRanges (what: string, spec: string): IdRange[] {
  // containers/storage writes a leading ':' (uidmapping=:0:100000:65536).
  const nums = spec.split(':').filter((s, i) => s !== '' || i > 0).map((s) => /^\d+$/.test(s) ? Number(s) : NaN)
  if (nums.length === 0 || nums.length % 3 !== 0 || nums.some((n) => !Number.isSafeInteger(n) || n > 0xffffffff)) {
    throw errnoError('EINVAL', `${what}=${spec}: expected layer:mount:count triplets of numbers`)
  }
  const ranges: IdRange[] = []
  for (let i = 0; i < nums.length; i += 3) {
    const r = { layer: nums[i], mount: nums[i + 1], count: nums[i + 2] }
    if (r.count === 0) throw errnoError('EINVAL', `${what}=${spec}: a range of 0 ids`)
    ranges.push(r)
  }
  return ranges
}

function through (ranges: IdRange[], id: number, from: 'layer' | 'mount', to: 'layer' | 'mount'): number | null {
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

  /** The uid the mount shows for a uid stored in a layer. */
  uidOut (layer: number): number {
    if (this.spec.squashUid !== undefined) return this.spec.squashUid
    if (!this.spec.uidmap?.length) return layer
    return through(this.spec.uidmap, layer, 'layer', 'mount') ?? OVERFLOW_ID
  }

  gidOut (layer: number): number {
    if (this.spec.squashGid !== undefined) return this.spec.squashGid
    if (!this.spec.gidmap?.length) return layer
    return through(this.spec.gidmap, layer, 'layer', 'mount') ?? OVERFLOW_ID
  }

  /** The uid to store for a uid written through the mount. */
  uidIn (mount: number): number {
    if (!this.spec.uidmap?.length) return mount
    return through(this.spec.uidmap, mount, 'mount', 'layer') ?? OVERFLOW_ID
  }

  gidIn (mount: number): number {
    if (!this.spec.gidmap?.length) return mount
    return through(this.spec.gidmap, mount, 'mount', 'layer') ?? OVERFLOW_ID
  }
}
