// strata image inspect: the image as JSON (config, diff_ids, history, layers, sizes).
import type { CommandModule } from 'yargs'
import { resolveImage } from '../../image/resolve-image.js'
import { imageSize, layerSize } from '../../image/image-history.js'
import { repoDigests } from '../../registry/repo-digests.js'
import { openStore, withRoot, type RootArgs } from '../store-option.js'

interface Args extends RootArgs { image: string[] }

export const imageInspectCommand: CommandModule<object, Args> = {
  command: 'inspect <image..>',
  describe: 'Show images in detail, as JSON',
  builder: (y) => withRoot(y.positional('image', { type: 'string', array: true, demandOption: true }).example('$0 image inspect greeter:1', '')),
  handler: (a) => {
    const store = openStore(a)
    const out = a.image.map((ref) => {
      const img = resolveImage(store, ref)
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
    })
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  },
}
