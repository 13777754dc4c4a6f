// strata image …: the image subcommands, one file each.
import type { CommandModule } from 'yargs'
import { imageImportCommand } from './image-import.js'
import { imageLsCommand } from './image-ls.js'
import { imageHistoryCommand } from './image-history.js'
import { imageInspectCommand } from './image-inspect.js'
import { imageTagCommand } from './image-tag.js'
import { imageRmCommand, imagePruneCommand } from './image-rm.js'
import { imageSaveCommand, imageLoadCommand } from './image-save.js'
import { imagePullCommand } from './image-pull.js'
import { imagePushCommand } from './image-push.js'
import { imageBuildCommand } from './image-build.js'

export const imageCommand: CommandModule = {
  command: 'image <command>',
  describe: 'Manage images',
  builder: (y) => y
    .command(imageImportCommand as CommandModule)
    .command(imageLsCommand as CommandModule)
    .command(imageHistoryCommand as CommandModule)
    .command(imageInspectCommand as CommandModule)
    .command(imageTagCommand as CommandModule)
    .command(imageRmCommand as CommandModule)
    .command(imagePruneCommand as CommandModule)
    .command(imageSaveCommand as CommandModule)
    .command(imageLoadCommand as CommandModule)
    .command(imagePullCommand as CommandModule)
    .command(imagePushCommand as CommandModule)
    .command(imageBuildCommand as CommandModule)
    .demandCommand(1, 'name an image command (strata image --help lists them)')
    .example('$0 image ls', '')
    .example('$0 image rm greeter:1', ''),
  handler: () => {},
}
