// The name of a lazily pulled layer's skeleton tree (store/lazy-layers.ts
// makes it): a test cheap enough for the paths on a caller's clock, which
// must not load the store to learn that a mount has no lazy layer (and so
// needs neither the registry client nor the CA certificates for it). Only a
// dir of this name may be one; lazy-layers.ts's isLazyTree says whether it is.
// bin/strata's mount_line makes the same test on the raw line.
import path from 'node:path'

export const LAZY_TREE_NAME = 'tree'

/** Some dir of `dirs` may be a lazily pulled layer's tree. */
export const mayHaveLazyTree = (dirs: readonly string[]): boolean => dirs.some((d) => path.basename(d) === LAZY_TREE_NAME)
