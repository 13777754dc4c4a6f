// The image store at one root (default /var/lib/strata for real root,
// $XDG_DATA_HOME/strata for anyone else, or --root / STRATA_ROOT): an OCI
// image layout (oci/), extracted layers (layers/), containers (containers/),
// the build cache (build-cache/), and the lock serialising changes.
import fs from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import { isRealRoot } from '../base/real-root.js'
import { BlobStore } from './blob-store.js'
import { ImageIndex } from './image-index.js'
import { LayerDirs } from './layer-dirs.js'
import { ContainerStore } from './container-store.js'
import { BuildCache } from './build-cache.js'
import { withStoreLock } from './store-lock.js'
import { removeStaleTemp, staleTemp } from './stale-temp.js'

export function defaultRoot (): string {
  if (process.env.STRATA_ROOT) return process.env.STRATA_ROOT
  if (isRealRoot()) return '/var/lib/strata'
  // Anyone else has a store of their own, where rootless podman keeps its.
  const data = process.env.XDG_DATA_HOME || path.join(process.env.HOME || os.homedir(), '.local', 'share')
  return path.join(data, 'strata')
}

export class Store {
  readonly blobs: BlobStore
  readonly index: ImageIndex
  readonly layers: LayerDirs
  readonly containers: ContainerStore
  readonly buildCache: BuildCache
  readonly tmp: string

  /**
   * Opening a store sweeps what dead commands left (temp names carry their
   * PIDs); `system check` opens with `sweep: false` to report them first.
   */
  constructor (readonly root: string = defaultRoot(), opts: { sweep?: boolean } = {}) {
    const sweep = opts.sweep ?? true
    fs.mkdirSync(root, { recursive: true, mode: 0o700 })
    this.blobs = new BlobStore(path.join(root, 'oci'))
    this.index = new ImageIndex(path.join(root, 'oci'))
    this.layers = new LayerDirs(root, sweep)
    this.containers = new ContainerStore(root, sweep)
    this.buildCache = new BuildCache(root)
    this.tmp = path.join(root, 'tmp')
    fs.mkdirSync(this.tmp, { recursive: true })
    if (sweep) {
      removeStaleTemp(this.tmp)
      removeStaleTemp(this.blobs.dir, (n) => n.startsWith('.tmp-'))
    }
  }

  /** Temp files and dirs of dead commands in tmp/. */
  staleTemp (): string[] {
    return staleTemp(this.tmp)
  }

  /** Runs `fn` holding the store's lock. */
  locked<T> (fn: () => Promise<T> | T): Promise<T> {
    return withStoreLock(this.root, fn)
  }
}
