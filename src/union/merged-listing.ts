// A directory's merged listing: upper entries first, then each lower down to
// the first opaque one, without duplicates and without whiteouts (char 0/0
// and the OCI .wh. forms). d_ino equals the st_ino a lookup reports.
import { native } from '../native/binding.js'
import type { LayerSource } from './layer-source.js'
import type { InodeNumbers } from './inode-numbers.js'
import type { LowerDir } from './node.js'
import { DT_CHR, DT_DIR, OCI_WHITEOUT_PREFIX, ORIGIN_XATTR, isWhiteout } from './whiteout.js'

export interface MergedListing {
  names: string[]
  types: number[]
  inos: number[]
  subdirs: number
}

export interface ListingSource {
  upperFd: number
  upperDev: number
  /** The upper dir has entries that carry an origin inode number. */
  impure: boolean
  lowerDirs: readonly LowerDir[]
  layers: LayerSource[]
  inodes: InodeNumbers
}

export function mergedListing (src: ListingSource): MergedListing {
  const out: MergedListing = { names: [], types: [], inos: [], subdirs: 0 }
  const seen = new Set<string>()
  const add = (name: string, type: number, ino: number): void => {
    seen.add(name)
    out.names.push(name)
    out.types.push(type)
    out.inos.push(ino)
    if (type === DT_DIR) out.subdirs++
  }
  if (src.upperFd >= 0) {
    const [names, types, inos] = native.readdir(src.upperFd)
    for (let i = 0; i < names.length; i++) {
      const name = names[i]
      if (types[i] === DT_CHR) {
        const st = native.lstatAtOrNull(src.upperFd, name)
        if (st && isWhiteout(st)) { seen.add(name); continue }
      }
      let ino = src.inodes.of(src.upperDev, inos[i])
      if (src.impure) {
        const origin = native.getxattr(src.upperFd, name, ORIGIN_XATTR)
        if (origin) ino = Number(origin.toString())
      }
      add(name, types[i], ino)
    }
  }
  for (const ld of src.lowerDirs) {
    const layer = src.layers[ld.layer]
    const [names, types, inos] = layer.readdir(ld.dir)
    const hidden: string[] = []
    for (let i = 0; i < names.length; i++) {
      const name = names[i]
      if (name.startsWith(OCI_WHITEOUT_PREFIX)) {
        hidden.push(name.slice(OCI_WHITEOUT_PREFIX.length))
        continue
      }
      if (seen.has(name)) continue
      if (types[i] === DT_CHR) {
        const st = layer.lookup(ld.dir, name)
        if (st && isWhiteout(st)) { seen.add(name); continue }
      }
      add(name, types[i], src.inodes.of(layer.dev, inos[i]))
    }
    // OCI whiteouts hide names in lower layers only, whatever their order.
    for (const h of hidden) seen.add(h)
  }
  return out
}
