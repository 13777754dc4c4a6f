// The union as the kernel sees it when the mount presents something other
// than the layers' own attributes (uidmapping/gidmapping, squash_to_*,
// static_nlink): a view over a UnionFs that rewrites owners on the narrow
// points where attributes leave (lookup, getattr, setattr, the creating
// calls) and where owners enter (setattr, the creating calls). Everything
// else passes straight to the UnionFs, whose own calls never come back
// through the view (so nothing is mapped twice). Attributes are copied,
// never changed in place: the union and its layers cache theirs.
// Upper nodes are not handed to the native fast path in such a mount (it
// answers GETATTR live from the upper file, unmapped); lower nodes are,
// with their attributes already mapped.
import { S_UID, S_GID, S_MODE, S_NLINK, type RawStat } from '../native/binding.js'
import { UnionFs, SET_UID, SET_GID, type Entry, type UpperLocation } from '../union/union-fs.js'
import type { Node } from '../union/node.js'
import { S_IFMT, S_IFDIR } from '../base/file-mode.js'
import type { IdMapping } from './id-mapping.js'
import type { Caller } from '../union/caller.js'

export interface ViewOptions {
  ids: IdMapping
  staticNlink: boolean
  /** Let native code answer for upper files (only if it would answer the same). */
  nativeUpper: boolean
}

export function needsView (o: ViewOptions): boolean {
  return o.ids.active || o.staticNlink || !o.nativeUpper
}

export function mappedUnion (fs: UnionFs, o: ViewOptions): UnionFs {
  const out = (attr: RawStat): RawStat => {
    const a = Float64Array.from(attr)
    a[S_UID] = o.ids.uidOut(a[S_UID])
    a[S_GID] = o.ids.gidOut(a[S_GID])
    // fuse-overlayfs's static_nlink: tools such as find(1) then stop
    // counting subdirectories from st_nlink.
    if (o.staticNlink && (a[S_MODE] & S_IFMT) === S_IFDIR) a[S_NLINK] = 1
    return a
  }
  const entry = <E extends Entry>(e: E): E => ({ ...e, attr: out(e.attr) })
  const callerIn = (c: Caller): Caller => ({ ...c, uid: o.ids.uidIn(c.uid), gid: o.ids.gidIn(c.gid) })
  const overrides: Partial<Record<keyof UnionFs, unknown>> = {
    lookup: (parent: number, name: string) => {
      const e = fs.lookup(parent, name)
      return e && entry(e)
    },
    getattr: (id: number, fh?: number) => out(fs.getattr(id, fh)),
    setattr: async (id: number, valid: number, attr: RawStat, fh?: number) => {
      let a = attr
      if (valid & (SET_UID | SET_GID)) {
        a = Float64Array.from(attr)
        if (valid & SET_UID) a[S_UID] = o.ids.uidIn(a[S_UID])
        if (valid & SET_GID) a[S_GID] = o.ids.gidIn(a[S_GID])
      }
      return out(await fs.setattr(id, valid, a, fh))
    },
    mknod: async (p: number, name: string, mode: number, rdev: number, c: Caller) => entry(await fs.mknod(p, name, mode, rdev, callerIn(c))),
    mkdir: async (p: number, name: string, mode: number, c: Caller) => entry(await fs.mkdir(p, name, mode, callerIn(c))),
    symlink: async (p: number, name: string, target: string, c: Caller) => entry(await fs.symlink(p, name, target, callerIn(c))),
    create: async (p: number, name: string, mode: number, flags: number, c: Caller) => entry(await fs.create(p, name, mode, flags, callerIn(c))),
    link: async (id: number, p: number, name: string) => entry(await fs.link(id, p, name)),
  }
  if (!o.nativeUpper) overrides.upperLocation = () => null
  else if (o.staticNlink) {
    // Native code shows an upper directory with static_nlink's count too.
    overrides.upperLocation = (n: Node): UpperLocation | null => {
      const u = fs.upperLocation(n)
      return u && u.name === '' ? { ...u, nlink: 1 } : u
    }
  }
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(fs, {
    get (target, prop) {
      if (prop in overrides) return overrides[prop as keyof UnionFs]
      const v: unknown = Reflect.get(target, prop, target)
      if (typeof v !== 'function') return v
      let b = bound.get(prop)
      if (!b) { b = (v as (...a: unknown[]) => unknown).bind(target); bound.set(prop, b) }
      return b
    },
  })
}
