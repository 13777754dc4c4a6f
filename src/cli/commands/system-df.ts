// strata system df (docker system df): TYPE TOTAL ACTIVE SIZE RECLAIMABLE
// for images, containers and the build cache. Sizes are uncompressed layer
// sizes, as image ls shows them, each layer counted once however many
// images share it. An image is active when a container uses it; a
// container when it is mounted. Reclaimable: what prune would free — the
// layers only inactive images hold, the writable layers of unmounted
// containers, the layers only build-cache images hold.
import { execFileSync } from 'node:child_process'
import type { CommandModule } from 'yargs'
import { listImages, loadImage, type Image } from '../../image/resolve-image.js'
import { layerSize } from '../../image/image-history.js'
import { mountedAt } from '../../fuse/mount-daemon.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { checkFormat, formatRows, humanSize } from '../format.js'

interface Args extends RootArgs { format?: string }

function layerBytes (images: Image[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const img of images) img.config.rootfs.diff_ids.forEach((d, i) => out.set(d, layerSize(img, i)))
  return out
}

const sum = (m: Map<string, number>, keep: (k: string) => boolean = () => true): number => [...m].reduce((s, [k, v]) => s + (keep(k) ? v : 0), 0)

/** Bytes under `dir` (du -sb: hard links once, as the disk sees them). */
export function du (dir: string): number {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]) || 0
  } catch {
    return 0
  }
}

const pct = (part: number, whole: number): string => `${humanSize(part)} (${whole ? Math.round(100 * part / whole) : 0}%)`

export const systemDfCommand: CommandModule<object, Args> = {
  command: 'df',
  describe: 'Show the disk space images, containers and the build cache use',
  builder: (y) => withRoot(y.option('format', { type: 'string', describe: 'table, json, or a Go template ({{.Type}} {{.Size}})' })
    .example('$0 system df', '')
    .example("$0 system df --format '{{.Type}}: {{.Reclaimable}}'", '')),
  handler: (a) => {
    checkFormat(a.format)
    const store = openStore(a)
    const images = listImages(store)
    const containers = store.containers.list()
    const used = new Set(containers.map((c) => c.manifest))
    const active = images.filter((i) => used.has(i.manifestDigest))
    const all = layerBytes(images)
    const activeLayers = layerBytes(active)
    const indexed = new Set(images.map((i) => i.manifestDigest))
    const cached = store.buildCache.manifests().filter((d) => !indexed.has(d) && store.blobs.has(d)).map((d) => loadImage(store, d))
    const cacheLayers = layerBytes(cached)
    const cacheOnly = (d: string): boolean => !all.has(d)
    const uppers = containers.map((c) => ({ size: du(store.containers.upper(c)), mounted: !!mountedAt(store.containers.upper(c)) }))
    const imageSize = sum(all)
    const containerSize = uppers.reduce((s, u) => s + u.size, 0)
    const cacheSize = sum(cacheLayers, cacheOnly)
    const rows = [
      { Type: 'Images', TotalCount: String(images.length), Active: String(active.length), Size: humanSize(imageSize), Reclaimable: pct(sum(all, (d) => !activeLayers.has(d)), imageSize) },
      { Type: 'Containers', TotalCount: String(containers.length), Active: String(uppers.filter((u) => u.mounted).length), Size: humanSize(containerSize), Reclaimable: pct(uppers.filter((u) => !u.mounted).reduce((s, u) => s + u.size, 0), containerSize) },
      { Type: 'Build Cache', TotalCount: String(cached.length), Active: '0', Size: humanSize(cacheSize), Reclaimable: humanSize(cacheSize) },
    ]
    process.stdout.write(formatRows(rows, a.format, {
      table: 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}',
      headers: { TotalCount: 'TOTAL' },
    }))
  },
}
