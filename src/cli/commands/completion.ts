// strata completion bash|zsh: the shell script from yargs's completion
// support; the script asks `strata --get-yargs-completions …` on each TAB,
// which main.ts answers loading only the command being completed.
import type { CommandModule } from 'yargs'

interface Args { shell?: string }

export const completionCommand: CommandModule<object, Args> = {
  command: 'completion [shell]',
  describe: 'Print a shell completion script (bash or zsh)',
  builder: (y) => y.positional('shell', { type: 'string', choices: ['bash', 'zsh'], describe: 'default: from $SHELL' })
    .example('$0 completion bash > /etc/bash_completion.d/strata', '')
    // eslint-disable-next-line no-template-curly-in-string -- zsh's ${fpath[1]}, for the shell to expand
    .example('$0 completion zsh > "${fpath[1]}/_strata"', ''),
  handler: async (a) => {
    const shell = a.shell ?? (process.env.SHELL?.includes('zsh') ? 'zsh' : 'bash')
    // yargs picks the script by $SHELL when an instance is made.
    process.env.SHELL = shell === 'zsh' ? '/bin/zsh' : '/bin/bash'
    delete process.env.ZSH_NAME
    const { default: yargs } = await import('yargs')
    const y = yargs([]).scriptName('strata').completion('__completions', false) as unknown as { showCompletionScript: ($0: string, cmd: string) => void }
    y.showCompletionScript('strata', 'completion')
  },
}
