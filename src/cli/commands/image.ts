// strata image …: the image subcommands, one file each, loaded lazily as the
// top-level commands are (command-table.ts): only the subcommand a line
// names is imported, so `image ls` does not load the registry client or the
// Dockerfile builder. The others are listed by name and description only.
import type { CommandModule } from 'yargs'
import { listedOnly } from '../command-table.js'

interface Sub {
  command: string
  aliases?: string[]
  describe: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- yargs' CommandModule is invariant in its argument types: only any fits every command
  load: () => Promise<CommandModule<any, any>>
}

const SUBCOMMANDS: Sub[] = [
  { command: 'import <source> [name]', describe: 'Import a rootfs tarball, gzipped tarball, directory or - (stdin) as an image', load: async () => (await import('./image-import.js')).imageImportCommand },
  { command: 'ls [reference]', aliases: ['list'], describe: 'List images (newest first)', load: async () => (await import('./image-ls.js')).imageLsCommand },
  { command: 'history <image>', describe: 'Show the history of an image', load: async () => (await import('./image-history.js')).imageHistoryCommand },
  { command: 'inspect <image..>', describe: 'Show images in detail, as JSON', load: async () => (await import('./image-inspect.js')).imageInspectCommand },
  { command: 'tag <source> <target>', describe: 'Name an image (repository[:tag])', load: async () => (await import('./image-tag.js')).imageTagCommand },
  { command: 'rm <image..>', aliases: ['remove', 'rmi'], describe: 'Remove image names; an image goes with its last name', load: async () => (await import('./image-rm.js')).imageRmCommand },
  { command: 'prune', describe: 'Remove dangling images (-a: all unused), the build cache and unused blobs', load: async () => (await import('./image-rm.js')).imagePruneCommand },
  { command: 'save <image..>', describe: 'Write images to a docker-archive (default) or OCI layout tar', load: async () => (await import('./image-save.js')).imageSaveCommand },
  { command: 'load', describe: 'Load images from a docker-archive or OCI layout tar', load: async () => (await import('./image-save.js')).imageLoadCommand },
  { command: 'pull <image>', describe: 'Download an image from a registry', load: async () => (await import('./image-pull.js')).imagePullCommand },
  { command: 'push <image>', describe: 'Upload an image to a registry', load: async () => (await import('./image-push.js')).imagePushCommand },
  { command: 'build <context>', describe: 'Build an image from a Dockerfile', load: async () => (await import('./image-build.js')).imageBuildCommand },
  { command: 'convert <source> <target>', describe: 'Convert an image (--estargz: layers lazily pullable)', load: async () => (await import('./image-convert.js')).imageConvertCommand },
]

/** The `image` group with the module of subcommand `word` loaded (none: every one listed only). */
export async function imageCommandFor (word: string | undefined): Promise<CommandModule> {
  const chosen = SUBCOMMANDS.find((s) => s.command.split(' ')[0] === word || s.aliases?.includes(word ?? ''))
  const loaded = await chosen?.load()
  return {
    command: 'image <command>',
    describe: 'Manage images',
    builder: (y) => {
      for (const s of SUBCOMMANDS) {
        y = y.command(s === chosen && loaded ? loaded : listedOnly(s))
      }
      return y.demandCommand(1, 'name an image command (strata image --help lists them)')
        .example('$0 image ls', '')
        .example('$0 image rm greeter:1', '')
    },
    handler: () => {},
  }
}
