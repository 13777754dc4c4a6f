// strata image save / load: archives other tools read and write.
import fs from 'node:fs'
import type { CommandModule } from 'yargs'
import { resolveImage } from '../../image/resolve-image.js'
import { parseReference } from '../../image/reference.js'
import { saveImages, saveImagesToFile, type ArchiveFormat } from '../../image/save-image.js'
import { loadImages } from '../../image/load-image.js'
import { completeLazyImage } from '../../registry/lazy-fill.js'
import { errnoError } from '../../base/errno-error.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'
import { withProgress } from '../progress.js'

interface SaveArgs extends RootArgs { image: string[], o?: string, format?: string }
interface LoadArgs extends RootArgs { i?: string, q?: boolean }

export const imageSaveCommand: CommandModule<object, SaveArgs> = {
  command: 'save <image..>',
  describe: 'Write images to a docker-archive (default) or OCI layout tar',
  builder: (y) => withRoot(y.positional('image', { type: 'string', array: true, demandOption: true })
    .option('o', { alias: 'output', type: 'string', describe: 'file to write (default: stdout, if it is not a terminal)' })
    .option('format', { type: 'string', choices: ['docker-archive', 'oci'], default: 'docker-archive' })
    .example('$0 image save -o greeter.tar greeter:1', '')
    .example('$0 image save --format oci -o greeter-oci.tar greeter:1', '')),
  handler: async (a) => {
    const store = openStore(a)
    const images = a.image.map((ref) => {
      const image = resolveImage(store, ref)
      const byName = !ref.startsWith('sha256:') && !/^[0-9a-f]{4,64}$/.test(ref)
      return { image, names: byName ? [parseReference(ref).name] : image.names }
    })
    if (!a.o && process.stdout.isTTY) throw errnoError('EINVAL', 'refusing to write an archive to a terminal: use -o FILE or a pipe')
    // A lazily pulled image is saved whole: its layers are completed (and verified) first.
    for (const { image } of images) await completeLazyImage(store, image)
    const format = a.format as ArchiveFormat
    if (a.o) await saveImagesToFile(store, images, format, a.o)
    else await saveImages(store, images, format, process.stdout)
  },
}

export const imageLoadCommand: CommandModule<object, LoadArgs> = {
  command: 'load',
  describe: 'Load images from a docker-archive or OCI layout tar (digests verified)',
  builder: (y) => withRoot(y.option('i', { alias: 'input', type: 'string', describe: 'archive to read (default, or -: stdin)' })
    .option('q', { alias: 'quiet', type: 'boolean' })
    .example('$0 image load -i greeter.tar', '')),
  handler: async (a) => {
    const store = openStore(a)
    const file = a.i === '-' ? undefined : a.i
    if (file && !fs.existsSync(file)) throw errnoError('ENOENT', `no such file: ${file}`)
    const loaded = await withProgress('Loading', (progress) => loadImages(store, file ? fs.createReadStream(file) : process.stdin, progress))
    if (a.q) return
    for (const l of loaded) {
      if (l.names.length) for (const n of l.names) process.stdout.write(`Loaded image: ${n}\n`)
      else process.stdout.write(`Loaded image ID: ${l.id}\n`)
    }
  },
}
