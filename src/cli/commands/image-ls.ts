// strata image ls (docker images): REPOSITORY TAG IMAGE ID CREATED SIZE,
// newest first, one row per name (a nameless image is <none> <none>), with
// docker's -a, -q, --digests, --no-trunc, --filter and --format, and a
// REPOSITORY[:TAG] argument (a reference filter, wildcards allowed).
// Filters of one key are alternatives (any may match), of different keys
// all must match, as docker's are; label filters must all match.
import type { CommandModule } from 'yargs'
import { listImages, loadImage, resolveImage, type Image } from '../../image/resolve-image.js'
import { imageSize } from '../../image/image-history.js'
import { repoDigests } from '../../registry/repo-digests.js'
import { errnoError } from '../../base/errno-error.js'
import type { Store } from '../../store/store.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { ago, checkFormat, formatRows, goTime, humanSize, shortId } from '../format.js'

interface Args extends RootArgs { reference?: string, a?: boolean, q?: boolean, digests?: boolean, trunc?: boolean, filter?: string | string[], format?: string }

interface Row { image: Image, repository: string, tag: string }

const FILTERS = ['dangling', 'reference', 'label', 'before', 'since']

/** Go's path.Match, which docker's reference filter uses: * and ? stop at "/". */
function globMatch (pattern: string, s: string): boolean {
  const re = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')
  return new RegExp(`^${re}$`).test(s)
}

export function parseFilters (list: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const f of list) {
    const i = f.indexOf('=')
    if (i <= 0) throw errnoError('EINVAL', `bad format of filter "${f}" (expected name=value)`)
    const key = f.slice(0, i).toLowerCase()
    if (!FILTERS.includes(key)) throw errnoError('EINVAL', `invalid filter '${key}' (image ls takes ${FILTERS.join(', ')})`)
    out.set(key, [...(out.get(key) ?? []), f.slice(i + 1)])
  }
  for (const d of out.get('dangling') ?? []) {
    if (d !== 'true' && d !== 'false') throw errnoError('EINVAL', `invalid filter 'dangling=${d}' (true or false)`)
  }
  return out
}

function created (img: Image): number {
  return Date.parse(img.config.created ?? '') || 0
}

function keep (store: Store, filters: Map<string, string[]>): (r: Row) => boolean {
  const dangling = filters.get('dangling')
  const refs = filters.get('reference')
  const labels = filters.get('label') ?? []
  const before = filters.get('before')?.map((r) => created(resolveImage(store, r)))
  const since = filters.get('since')?.map((r) => created(resolveImage(store, r)))
  return (r) => {
    const none = r.repository === '<none>'
    if (dangling && !dangling.some((d) => (d === 'true') === none)) return false
    if (refs && (none || !refs.some((p) => globMatch(p, r.repository) || globMatch(p, `${r.repository}:${r.tag}`)))) return false
    const l = r.image.config.config?.Labels ?? {}
    for (const f of labels) {
      const i = f.indexOf('=')
      if (i < 0 ? !(f in l) : l[f.slice(0, i)] !== f.slice(i + 1)) return false
    }
    if (before && !before.every((t) => created(r.image) < t)) return false
    if (since && !since.every((t) => created(r.image) > t)) return false
    return true
  }
}

/** What a --format template sees: docker's field names, docker's string values. */
function context (store: Store, r: Row, trunc: boolean): Record<string, string> {
  const digest = repoDigests(store, r.image.manifestDigest).find((d) => d.startsWith(r.repository + '@'))?.split('@')[1] ?? '<none>'
  const size = humanSize(imageSize(r.image))
  return {
    Containers: String(store.containers.list().filter((c) => c.manifest === r.image.manifestDigest).length),
    CreatedAt: r.image.config.created ? goTime(r.image.config.created) : '',
    CreatedSince: ago(r.image.config.created),
    Digest: digest,
    ID: trunc ? shortId(r.image.configDigest) : r.image.configDigest,
    Repository: r.repository,
    SharedSize: 'N/A',
    Size: size,
    Tag: r.tag,
    UniqueSize: 'N/A',
    VirtualSize: size,
  }
}

export const IMAGE_HEADERS = { ID: 'IMAGE ID', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', VirtualSize: 'VIRTUAL SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE' }

export const imageLsCommand: CommandModule<object, Args> = {
  command: 'ls [reference]',
  aliases: ['list'],
  describe: 'List images (newest first)',
  builder: (y) => withRoot(y
    .positional('reference', { type: 'string', describe: 'only REPOSITORY[:TAG] (wildcards * and ? allowed)' })
    .option('a', { alias: 'all', type: 'boolean', describe: 'also the intermediate images of builds' })
    .option('q', { alias: 'quiet', type: 'boolean', describe: 'only image IDs' })
    .option('digests', { type: 'boolean', describe: 'show digests' })
    // yargs reads --no-trunc as trunc=false.
    .option('trunc', { type: 'boolean', default: true, describe: 'shorten IDs (--no-trunc: do not)' })
    .option('filter', { alias: 'f', type: 'string', describe: 'dangling=true|false, reference=PATTERN, label=KEY[=VALUE], before=IMAGE, since=IMAGE; repeatable' })
    .option('format', { type: 'string', describe: 'table, json, or a Go template ({{.Repository}}:{{.Tag}}, table {{.ID}}\\t{{.Size}}, {{json .}})' })
    .example('$0 image ls', 'every named image, newest first')
    .example('$0 images -a --filter dangling=true -q', 'IDs of the images with no name')
    .example("$0 image ls --filter 'reference=greet*' --filter label=maintainer", '')
    .example("$0 image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}'", '')
    .example('$0 image ls --format json', 'one JSON object per line, docker\'s keys')),
  handler: (a) => {
    checkFormat(a.format)
    const filters = parseFilters([a.filter ?? []].flat())
    if (a.reference) filters.set('reference', [...(filters.get('reference') ?? []), a.reference])
    const store = openStore(a)
    const images = listImages(store)
    if (a.a) {
      const seen = new Set(images.map((i) => i.manifestDigest))
      for (const d of store.buildCache.manifests()) {
        if (seen.has(d) || !store.blobs.has(d)) continue
        seen.add(d)
        images.push(loadImage(store, d))
      }
    }
    images.sort((x, y) => created(y) - created(x))
    const rows: Row[] = images.flatMap((image) => {
      if (!image.names.length) return [{ image, repository: '<none>', tag: '<none>' }]
      return [...image.names].sort().map((n) => {
        const i = n.lastIndexOf(':')
        return { image, repository: n.slice(0, i), tag: n.slice(i + 1) }
      })
    }).filter(keep(store, filters))
    const trunc = a.trunc !== false
    if (a.q) {
      process.stdout.write([...new Set(rows.map((r) => (trunc ? shortId(r.image.configDigest) : r.image.configDigest)))].map((x) => x + '\n').join(''))
      return
    }
    const table = a.digests
      ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
      : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
    process.stdout.write(formatRows(rows.map((r) => context(store, r, trunc)), a.format, { table, headers: IMAGE_HEADERS }))
  },
}
