import { Argument, type Command } from 'commander';
import { writeTextOutput } from '../../io/byte-sink.js';
import { examples } from './common.js';

// completion: a bash, zsh or fish script made from the program's own definitions.

export function defineCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a completion script for bash, zsh or fish (commands, flags, flag values, file names)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      examples(
        'source <(tsnorm completion bash)                       # bash, now; or in ~/.bashrc',
        'tsnorm completion bash > ~/.local/share/bash-completion/completions/tsnorm',
        'tsnorm completion zsh > "${fpath[1]}/_tsnorm"          # zsh, then a new shell',
        'tsnorm completion fish > ~/.config/fish/completions/tsnorm.fish',
      ),
    )
    .action(async (shell: 'bash' | 'zsh' | 'fish') => {
      const { completionScript, describeCommand } = await import('../shell.js');
      await writeTextOutput('-', completionScript(shell, describeCommand(program)));
    });
}
