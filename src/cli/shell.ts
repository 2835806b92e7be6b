import { type Command, Help } from 'commander';

/**
 * The command line as data, read from the same commander definitions that print --help: the
 * shell completion scripts and the man page are generated from it, so neither can drift from
 * the flags the program actually takes.
 */
export interface CommandSpec {
  /** ['tsnorm'], ['tsnorm', 'fit'], ['tsnorm', 'stats', 'merge'] */
  path: string[];
  usage: string;
  description: string;
  isDefault: boolean;
  args: { term: string; description: string; isFile: boolean; choices?: string[] }[];
  flags: FlagSpec[];
  commands: CommandSpec[];
  examples: string[];
}

export interface FlagSpec {
  /** '-o, --output <file>' */
  term: string;
  short?: string;
  long?: string;
  /** with choices and default, as --help shows it */
  description: string;
  takesValue: boolean;
  /** the value's placeholder: 'file', 'm', 'format' */
  valueName?: string;
  choices?: string[];
  /** its value is a path: complete file names */
  isFile: boolean;
}

/** The examples that end a command's --help (its `addHelpText('after', ...)` text). */
function examplesOf(cmd: Command): string[] {
  let text = '';
  (cmd as unknown as NodeJS.EventEmitter).emit('afterHelp', {
    error: false,
    command: cmd,
    write: (s: string) => {
      text += s;
    },
  });
  const at = text.indexOf('Examples:\n');
  return at < 0
    ? []
    : text
        .slice(at + 'Examples:\n'.length)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
}

const FILE_VALUE = /^(file|files|input|inputs)$/;

export function describeCommand(cmd: Command, parents: string[] = [], defaultName?: string): CommandSpec {
  const help = new Help();
  const path = [...parents, cmd.name()];
  const visible = help.visibleCommands(cmd);
  const defaultCommand = (cmd as unknown as { _defaultCommandName?: string | null })._defaultCommandName ?? undefined;
  return {
    path,
    usage: `${path.join(' ')} ${cmd.usage()}`,
    description: cmd.description(),
    isDefault: defaultName !== undefined && defaultName === cmd.name(),
    args: help.visibleArguments(cmd).map((a) => ({
      term: help.argumentTerm(a),
      description: help.argumentDescription(a),
      isFile: FILE_VALUE.test(a.name()),
      ...(a.argChoices ? { choices: [...a.argChoices] } : {}),
    })),
    flags: help.visibleOptions(cmd).map((o) => {
      const valueName = /[<[]([^>\]]+?)(\.\.\.)?[>\]]/.exec(o.flags)?.[1];
      return {
        term: help.optionTerm(o),
        ...(o.short !== undefined ? { short: o.short } : {}),
        ...(o.long !== undefined ? { long: o.long } : {}),
        description: help.optionDescription(o),
        takesValue: o.required || o.optional,
        ...(valueName !== undefined ? { valueName } : {}),
        ...(o.argChoices ? { choices: [...o.argChoices] } : {}),
        isFile: valueName !== undefined && FILE_VALUE.test(valueName),
      };
    }),
    // commander's own `help` command is listed too: `tsnorm help fit` works.
    commands: visible.map((c) =>
      c.name() === 'help' && !cmd.commands.includes(c)
        ? {
            path: [...path, 'help'],
            usage: `${path.join(' ')} help [command]`,
            description: c.description(),
            isDefault: false,
            args: [],
            flags: [],
            commands: [],
            examples: [],
          }
        : describeCommand(c, path, defaultCommand),
    ),
    examples: examplesOf(cmd),
  };
}

export type Shell = 'bash' | 'zsh' | 'fish';

export function completionScript(shell: Shell, program: CommandSpec): string {
  return { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion }[shell](program);
}

function allCommands(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.commands.flatMap(allCommands)];
}

/** A shell function name for a command: _tsnorm, _tsnorm_stats_merge. */
function fnName(spec: CommandSpec): string {
  return `_${spec.path.join('_').replace(/[^A-Za-z0-9_]/g, '_')}`;
}

const single = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** bash: the words typed so far give the command reached (the default one after a first word that is no command); its flags, their values, subcommands and file names are offered. */
function bashCompletion(program: CommandSpec): string {
  const name = program.path[0]!;
  const cases: string[] = [];
  const top = program.commands.map((c) => c.path.at(-1)!);
  const fallback = program.commands.find((c) => c.isDefault);
  for (const spec of allCommands(program)) {
    const key = spec.path.slice(1).join(' ');
    // Before any command word, the default command's flags apply too (`tsnorm --eps 1e-3 x.npy`).
    const flags = spec === program && fallback ? [...spec.flags, ...fallback.flags] : spec.flags;
    const valueFlags = flags.filter((f) => f.takesValue);
    const words = [...new Set(flags.flatMap((f) => [f.short, f.long].filter((x): x is string => x !== undefined)))];
    const lines = [`    ${single(key)})`];
    const prevCases = valueFlags.map((f) => {
      const pattern = [f.short, f.long].filter((x): x is string => x !== undefined).join('|');
      const action = f.choices
        ? `COMPREPLY=($(compgen -W ${single(f.choices.join(' '))} -- "$cur"))`
        : f.isFile
          ? `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))`
          : 'COMPREPLY=()';
      return `        ${pattern}) ${action}; return ;;`;
    });
    if (prevCases.length > 0) lines.push('      case "$prev" in', ...prevCases, '      esac');
    const isHelp = spec.path.length === 2 && spec.path[1] === 'help';
    lines.push(`      flags=${single(words.join(' '))}`);
    const values = isHelp ? top.filter((t) => t !== 'help') : [...spec.commands.map((c) => c.path.at(-1)!), ...spec.args.flatMap((a) => a.choices ?? [])];
    lines.push(`      subcommands=${single(values.join(' '))}`);
    lines.push(`      files=${spec.args.some((a) => a.isFile) || spec.commands.some((c) => c.isDefault) ? 1 : 0}`);
    lines.push('      ;;');
    cases.push(lines.join('\n'));
  }
  const nested = allCommands(program)
    .filter((s) => s.commands.length > 0)
    .map((s) => {
      const key = s.path.slice(1).join(' ');
      const patterns = s.commands.map((c) => single(`${key}:${c.path.at(-1)!}`)).join('|');
      return `        ${patterns}) cmd="\${cmd:+$cmd }$word" ;;`;
    });
  // The default command takes over once a non-flag word that is not a command appears.
  const defaultCommand = fallback?.path.slice(1).join(' ');
  return `# bash completion for ${name} (generated by \`${name} completion bash\`)
# Install: ${name} completion bash > ~/.local/share/bash-completion/completions/${name}
#      or: source <(${name} completion bash)   in ~/.bashrc
${fnName(program)}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="" word i skip=0 flags subcommands files
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$word" in -*) continue ;; esac
    case "$cmd:$word" in
${nested.join('\n')}
        *) break ;;
    esac
  done
  if [[ -z "$cmd" && $i -lt $COMP_CWORD ]]; then cmd=${single(defaultCommand ?? '')}; fi
  case "$cmd" in
${cases.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
  if [[ $files == 1 ]]; then
    compopt -o filenames 2>/dev/null
    COMPREPLY+=($(compgen -f -- "$cur"))
  fi
}
complete -F ${fnName(program)} ${name}
`;
}

/** Text safe inside a zsh _arguments description: [desc] or a (value:desc) list. */
function zshText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\[/g, '(').replace(/\]/g, ')').replace(/:/g, '\\:').replace(/'/g, `'\\''`);
}

function zshCompletion(program: CommandSpec): string {
  const name = program.path[0]!;
  const top = program.commands.map((c) => c.path.at(-1)!).filter((t) => t !== 'help');
  const fns = allCommands(program).map((spec) => {
    const lines: string[] = [];
    if (spec.path.length === 2 && spec.path[1] === 'help') {
      lines.push(`${fnName(spec)}() {`, `  _arguments ':command:(${top.join(' ')})'`, '}');
    } else if (spec.commands.length > 0) {
      const list = spec.commands.map((c) => `'${zshText(c.path.at(-1)!)}:${zshText(c.description)}'`).join(' ');
      const fallback = spec.commands.find((c) => c.isDefault);
      lines.push(
        `${fnName(spec)}() {`,
        `  local -a subcommands=(${list})`,
        // A first word that is not a command is an input of the default command, a flag one of its flags.
        `  if (( CURRENT == 2 ))${fallback ? ' && [[ $words[2] != -* ]]' : ''}; then`,
        `    _describe -t commands 'command' subcommands${fallback ? '\n    _files' : ''}`,
        '    return',
        '  fi',
        '  case $words[2] in',
        ...spec.commands.map((c) => `    ${c.path.at(-1)}) shift words; (( CURRENT-- )); ${fnName(c)} ;;`),
        `    *) ${fallback ? `${fnName(spec)}__default` : `_message 'unknown command'`} ;;`,
        '  esac',
        '}',
      );
    } else {
      lines.push(`${fnName(spec)}() {`, '  _arguments -s -S \\', zshArguments(spec).join(' \\\n'), '}');
    }
    return lines.join('\n');
  });
  // Flags before any command word: the program's and the default command's (`tsnorm --eps 1e-3 x.npy`).
  const fallback = program.commands.find((c) => c.isDefault);
  if (fallback) {
    const own = new Set(fallback.flags.map((f) => f.long));
    const both: CommandSpec = { ...fallback, flags: [...program.flags.filter((f) => !own.has(f.long)), ...fallback.flags] };
    fns.push([`${fnName(program)}__default() {`, '  _arguments -s -S \\', zshArguments(both).join(' \\\n'), '}'].join('\n'));
  }
  return `#compdef ${name}
# zsh completion for ${name} (generated by \`${name} completion zsh\`)
# Install: ${name} completion zsh > "\${fpath[1]}/_${name}"   (then start a new shell)
#      or: source <(${name} completion zsh)   in ~/.zshrc, after compinit
${fns.join('\n\n')}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  ${fnName(program)} "$@"
else
  compdef ${fnName(program)} ${name}
fi
`;
}

/** A command's flags and arguments as _arguments specs. */
function zshArguments(spec: CommandSpec): string[] {
  const specs = spec.flags.map((f) => {
    const names = [f.short, f.long].filter((x): x is string => x !== undefined);
    const exclusion = names.length > 1 ? `(${names.join(' ')})` : '';
    const value = f.takesValue ? `:${zshText(f.valueName ?? 'value')}:${f.choices ? `(${f.choices.join(' ')})` : f.isFile ? '_files' : ' '}` : '';
    const forms = names.length > 1 ? `{${names.join(',')}}` : names[0]!;
    return `    '${exclusion}'${forms}'[${zshText(f.description)}]${value}'`;
  });
  const args = spec.args.map((a) => {
    const repeat = /\.\.\.[>\]]$/.test(a.term) ? '*' : '';
    return `    '${repeat}:${zshText(a.term)}:${a.choices ? `(${a.choices.join(' ')})` : a.isFile ? '_files' : ' '}'`;
  });
  return [...specs, ...args];
}

function fishCompletion(program: CommandSpec): string {
  const name = program.path[0]!;
  const lines = [
    `# fish completion for ${name} (generated by \`${name} completion fish\`)`,
    `# Install: ${name} completion fish > ~/.config/fish/completions/${name}.fish`,
    `complete -c ${name} -e`,
  ];
  const top = program.commands.map((c) => c.path.at(-1)!);
  const hasDefault = program.commands.some((c) => c.isDefault);
  for (const spec of allCommands(program)) {
    const depth = spec.path.length - 1;
    // When a rule applies: the command words seen so far. The default command's flags apply
    // until another command is named (`tsnorm --eps 1e-3 x.npy`).
    let condition: string;
    if (depth === 0) condition = '__fish_use_subcommand';
    else if (spec.isDefault) condition = `not __fish_seen_subcommand_from ${top.filter((t) => t !== spec.path[1]).join(' ')}`;
    else if (depth === 1) condition = `__fish_seen_subcommand_from ${spec.path[1]}`;
    else condition = `__fish_seen_subcommand_from ${spec.path[depth - 1]}; and __fish_seen_subcommand_from ${spec.path[depth]}`;
    if (spec.path.length === 2 && spec.path[1] === 'help') {
      lines.push(`complete -c ${name} -f -n ${single(condition)} -a ${single(top.filter((t) => t !== 'help').join(' '))}`);
      continue;
    }
    for (const c of spec.commands) {
      // At the top, file names stay on offer: a first word that is a file runs the default command.
      const noFiles = depth === 0 && hasDefault ? '' : ' -f';
      const when =
        depth === 0 ? '__fish_use_subcommand' : `${condition}; and not __fish_seen_subcommand_from ${spec.commands.map((x) => x.path.at(-1)).join(' ')}`;
      lines.push(`complete -c ${name}${noFiles} -n ${single(when)} -a ${single(c.path.at(-1)!)} -d ${single(c.description.split(';')[0]!)}`);
    }
    for (const f of spec.flags) {
      const parts = [`complete -c ${name} -n ${single(condition)}`];
      if (f.short) parts.push(`-s ${f.short.replace(/^-/, '')}`);
      if (f.long) parts.push(`-l ${f.long.replace(/^--/, '')}`);
      if (f.takesValue) parts.push(f.choices ? `-x -a ${single(f.choices.join(' '))}` : f.isFile ? '-r -F' : '-x');
      parts.push(`-d ${single(f.description)}`);
      lines.push(parts.join(' '));
    }
    const choices = spec.args.flatMap((a) => a.choices ?? []);
    if (choices.length > 0) lines.push(`complete -c ${name} -f -n ${single(condition)} -a ${single(choices.join(' '))}`);
    else if (depth > 0 && spec.commands.length === 0 && !spec.args.some((a) => a.isFile)) lines.push(`complete -c ${name} -n ${single(condition)} -f`);
  }
  return `${lines.join('\n')}\n`;
}
