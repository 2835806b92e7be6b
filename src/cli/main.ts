import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import { TsnormError, printable } from '../errors.js';
import { ClosedOutputError } from '../io/byte-sink.js';
import { ioError } from '../io/byte-source.js';
import { removeAllTempFiles } from '../io/temp-files.js';
import { defineCheck } from './commands/check.js';
import { ChecksFailed, InputsUnreadable, UsageShown, errorLine, examples } from './commands/common.js';
import { defineCompletion } from './commands/completion.js';
import { defineInspect } from './commands/inspect.js';
import { type Act, defineRunCommands, runCommand } from './commands/run.js';
import { defineStats } from './commands/stats.js';

/** Set by the bundler (scripts/bundle.mjs, scripts/build-exe.mjs) from package.json. */
declare const TSNORM_VERSION: string | undefined;
const VERSION =
  typeof TSNORM_VERSION === 'string'
    ? TSNORM_VERSION
    : (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const COMMANDS = ['normalize', 'fit', 'apply', 'convert', 'inspect', 'check', 'stats', 'inverse', 'completion', 'help'];

export function buildProgram(act: Act): Command {
  const program = new Command('tsnorm')
    .description('torch.nn.InstanceNorm1d for time-series files: exact (float64), streaming, in pipelines.')
    .version(VERSION)
    .addHelpText(
      'after',
      examples(
        ...[
          ['tsnorm x.npy -o x.norm.npy', 'normalize each series'],
          ['tsnorm fit train.npy --save-stats stats.json', 'learn running statistics'],
          ['tsnorm apply test.npy --stats stats.json -o t.npy', 'apply them'],
          ['tsnorm <command> --help', 'more on a command'],
        ].map(([line, what]) => `${line!.padEnd(52)}${what!}`),
      ),
    )
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput(COMMANDER_OUTPUT);

  defineRunCommands(program, act);
  const stats = defineStats(program);
  defineInspect(program);
  defineCheck(program);
  defineCompletion(program);

  for (const cmd of [...program.commands, ...stats.commands]) cmd.exitOverride().configureOutput(COMMANDER_OUTPUT);
  return program;
}

/** Why writing --help or --version to stdout failed (a full disk), if it did: exit 2, not 0. */
let helpWriteFailure: string | undefined;

/** commander's output: help written as any output (a closed pipe is quiet), errors in our form. */
const COMMANDER_OUTPUT = {
  writeOut: (str: string): void => {
    try {
      fs.writeSync(1, str);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'EPIPE') helpWriteFailure ??= ioError('<stdout>', e).message;
    }
  },
  outputError: (str: string, write: (s: string) => void): void => write(commanderError(str)),
};

/** commander's error line, in our form: `tsnorm: ...`, escaped to one line. */
function commanderError(str: string): string {
  // Its suggestion comes on a line of its own: one line, as every error.
  const message = str
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\(Did you mean (.*)\?\)$/, ' (did you mean $1?)');
  return `tsnorm: ${errorLine(message)}\n`;
}

/**
 * A first word that is neither a command nor a file but looks like a mistyped command
 * (`normalise`, `fitt`): say so, instead of reading it as an input file.
 */
function mistypedCommand(argv: readonly string[]): string | undefined {
  const word = argv[0];
  if (word === undefined || word.startsWith('-') || COMMANDS.includes(word) || fs.existsSync(word)) return undefined;
  const near = COMMANDS.filter(
    (c) => editDistance(word.toLowerCase(), c) <= Math.min(2, Math.floor(c.length / 3)) || (word.length >= 3 && c.startsWith(word.toLowerCase())),
  );
  return near[0];
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** Runs the command line; resolves to the exit code. Errors are one line on stderr, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(runCommand);
  try {
    const typo = mistypedCommand(argv);
    if (typo !== undefined)
      throw new TsnormError(`unknown command '${argv[0]}' (and no such file): did you mean '${typo}'? (tsnorm --help lists the commands)`, 'TSNORM_USAGE');
    // commander keeps whichever of the two comes last: refuse the contradiction instead.
    if (argv.includes('--no-affine') && argv.some((a) => a === '--affine' || a.startsWith('--affine=')))
      throw new TsnormError('--affine and --no-affine contradict each other: give one', 'TSNORM_USAGE');
    // `tsnorm help bogus`: commander would print the whole usage without saying why.
    if (argv[0] === 'help' && argv[1] !== undefined && !argv[1].startsWith('-') && !COMMANDS.includes(argv[1])) {
      const near = COMMANDS.find((c) => editDistance(argv[1]!.toLowerCase(), c) <= 2);
      throw new TsnormError(
        `help: unknown command '${argv[1]}'${near ? `: did you mean '${near}'?` : ''} (the commands: ${COMMANDS.filter((c) => c !== 'help').join(', ')})`,
        'TSNORM_USAGE',
      );
    }
    // `tsnorm help stats merge`: commander's help command shows only `stats`; --help shows `merge`.
    // Only the command's words, then --help: a flag after them (`help fit --save-stats`) would take
    // --help for its value and run the command.
    let helpFor = argv;
    if (argv[0] === 'help' && argv.length > 2 && COMMANDS.includes(argv[1]!)) {
      const flagAt = argv.findIndex((a, i) => i > 0 && a.startsWith('-'));
      const words = argv.slice(1, flagAt < 0 ? argv.length : flagAt);
      const sub = words[2] === undefined && argv[1] === 'stats' ? words[1] : undefined;
      if (sub !== undefined && !['merge', 'help'].includes(sub))
        throw new TsnormError(`help: unknown command 'stats ${sub}' (stats has: merge)`, 'TSNORM_USAGE');
      helpFor = [...words, '--help'];
    }
    await program.parseAsync(helpFor, { from: 'user' });
    return 0;
  } catch (err) {
    removeAllTempFiles();
    if (err instanceof CommanderError) {
      // Help and version end with exit code 0; usage errors were already printed by commander.
      if (err.exitCode === 0 && helpWriteFailure !== undefined) {
        process.stderr.write(`tsnorm: ${errorLine(helpWriteFailure)}\n`);
        return 2;
      }
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageShown) return 2;
    if (err instanceof ChecksFailed) return 1;
    if (err instanceof InputsUnreadable) return 2;
    if (err instanceof ClosedOutputError) return 0;
    if (err instanceof TsnormError) {
      process.stderr.write(`tsnorm: ${errorLine(err.message)}\n`);
      return err.exitCode;
    }
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'EPIPE') return 0;
    process.stderr.write(`tsnorm: internal error: ${printable(e?.message ?? String(err))} (please report it with the command that caused it)\n`);
    if (process.env['TSNORM_DEBUG']) process.stderr.write(`${e?.stack ?? ''}\n`);
    return 70;
  }
}
