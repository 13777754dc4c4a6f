// strata image inspect: images as JSON (config, diff_ids, history, layers,
// sizes), docker's keys; --format applies a Go template to each. As docker:
// every image found is printed, each one not found is an error on stderr,
// and the status is 1 if any was not found.
import type { CommandModule } from 'yargs'
import { resolveImage, type Image } from '../../image/resolve-image.js'
import { imageSize, layerSize } from '../../image/image-history.js'
import { repoDigests } from '../../registry/repo-digests.js'
import type { Store } from '../../store/store.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { checkFormat } from '../format.js'
import { execute, parseTemplate } from '../go-template.js'

interface Args extends RootArgs { image: string[], format?: string }

export function inspectImage (store: Store, img: Image): Record<string, unknown> {
  return {
    Id: img.configDigest,
    RepoTags: img.names,
    RepoDigests: repoDigests(store, img.manifestDigest),
    ManifestDigest: img.manifestDigest,
    Created: img.config.created,
    Author: img.config.author ?? '',
    Architecture: img.config.architecture,
    Os: img.config.os,
    Config: img.config.config ?? {},
    RootFS: img.config.rootfs,
    History: img.config.history ?? [],
    Layers: img.manifest.layers.map((l, i) => ({ ...l, diffID: img.config.rootfs.diff_ids[i], uncompressedSize: layerSize(img, i) })),
    Size: imageSize(img),
  }
}

/** Prints objects as docker inspect does: one JSON array, or one template result per line. */
export function printInspected (objects: object[], format: string | undefined): void {
  if (format === undefined) {
    process.stdout.write(JSON.stringify(objects, null, 4) + '\n')
    return
  }
  const t = parseTemplate(format === 'json' ? '{{json .}}' : format.replace(/\\t/g, '\t').replace(/\\n/g, '\n'))
  process.stdout.write(objects.map((o) => execute(t, o) + '\n').join(''))
}

/** Runs `find` on each name; prints what was found, reports what was not (exit status 1). */
export function inspectEach (names: string[], find: (name: string) => object, format: string | undefined): void {
  const found: object[] = []
  const missing: string[] = []
  for (const n of names) {
    try {
      found.push(find(n))
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err
      missing.push(n)
    }
  }
  if (found.length || format === undefined) printInspected(found, format)
  for (const n of missing) process.stderr.write(`Error: No such object: ${n}\n`)
  if (missing.length) process.exitCode = 1
}

export const imageInspectCommand: CommandModule<object, Args> = {
  command: 'inspect <image..>',
  describe: 'Show images in detail, as JSON',
  builder: (y) => withRoot(y.positional('image', { type: 'string', array: true, demandOption: true })
    .option('format', { alias: 'f', type: 'string', describe: 'json, or a Go template for each image ({{.Config.Cmd}}, {{index .Config.Labels "k"}})' })
    .example('$0 image inspect greeter:1', '')
    .example("$0 image inspect --format '{{.Id}} {{json .Config.Cmd}}' greeter:1", '')),
  handler: (a) => {
    checkFormat(a.format)
    const store = openStore(a)
    inspectEach(a.image, (ref) => inspectImage(store, resolveImage(store, ref)), a.format)
  },
}
