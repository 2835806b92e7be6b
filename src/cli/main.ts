import fs from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { TsnormError, printable } from '../errors.js';
import { ClosedOutputError, writeTextOutput } from '../io/byte-sink.js';
import { ioError } from '../io/byte-source.js';
import { removeAllTempFiles } from '../io/temp-files.js';
import { FORMATS } from '../formats/detect.js';
import type { CheckReport } from '../pipeline/check.js';
import { REPORT_FORMATS } from '../pipeline/check-reports.js';
import { type GroupingHint, groupingText } from '../pipeline/grouping.js';
import { run } from '../pipeline/run.js';
import { startProgress } from './progress.js';
import { type CheckFlags, type Command as CommandName, type RawOptions, resolveCheck, resolvePlan, resolveReading } from './resolve.js';
import { tuneJitForJobs } from './jit.js';

/** Set by the bundler (scripts/bundle.mjs, scripts/build-exe.mjs) from package.json. */
declare const TSNORM_VERSION: string | undefined;
const VERSION = typeof TSNORM_VERSION === 'string'
  ? TSNORM_VERSION
  : (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const COMMANDS = ['normalize', 'fit', 'apply', 'convert', 'inspect', 'check', 'stats', 'inverse', 'completion', 'help'];

/** Flags shared by the commands that normalize (SPEC.md, Commands). */
/** --quiet: no progress bar (drawn on stderr when it is a terminal and an input is over 4 MB), no notes. */
function quietFlag(cmd: Command): Command {
  return cmd.option('-q, --quiet', 'no progress bar and no notes on stderr (errors are still reported)');
}

function normalizationFlags(cmd: Command, which: { output: boolean; training: boolean; eval: boolean }): Command {
  if (which.output) cmd.option('-o, --output <file>', 'output file, - for stdout', '-');
  quietFlag(cmd);
  cmd
    .option('--eps <e>', 'added to the variance for numerical stability (default 1e-5, or the stats file\'s)')
    .option('--affine <file>', 'JSON with per-channel "weight" and "bias" (a stats file or state_dict JSON works too)')
    .option('--no-affine', 'do not apply the "weight" and "bias" a --stats file holds');
  if (which.training) {
    cmd
      .option('--momentum <m>', 'running-stats momentum in [0, 1], or "cumulative" (default 0.1)')
      .option('--batch-size <b>', 'instances per running-stats update (default: the whole input)');
  }
  cmd
    .option('--stats <file>', which.training ? 'running stats to start from' : 'running stats to apply')
    .option('--stats-key <prefix>', 'the layer of a model state_dict to take (e.g. "norm" for norm.running_mean), when it holds several');
  if (which.training) cmd.option('--save-stats <file>', 'where to write the updated running stats (may equal --stats)');
  if (which.eval) {
    cmd
      .option('--track-running-stats', 'keep running statistics (training) or use them (with --eval)')
      .option('--eval', 'eval mode: normalize with running statistics instead of each series\' own');
  }
  cmd
    .addOption(new Option('--nan <policy>', 'missing values: propagate (as torch), ignore (skip in statistics), error').choices(['propagate', 'ignore', 'error']))
    .addOption(new Option('--from <format>', 'input format (default: by extension, else by content)').choices(FORMATS));
  if (which.output) {
    cmd
      .addOption(new Option('--to <format>', 'output format (default: by extension, else the input\'s)').choices(FORMATS))
      .addOption(new Option('--dtype <dtype>', 'NPY/Arrow output dtype (default: float64 for float64 input, else float32)').choices(['float32', 'float64']));
  }
  csvFlags(cmd, which.output);
  cmd.addOption(new Option('--budget <values>', 'values held in memory per group (testing the streaming paths)').hideHelp());
  return cmd;
}

/** Flags of the text formats (SPEC.md, Layouts). */
function csvFlags(cmd: Command, output: boolean): Command {
  cmd
    .option('--id <col>', 'CSV long layout: consecutive rows with equal values in COL form one instance')
    .option('--channels <a,b,...>', 'CSV: the channel columns (default: every numeric column but --id and --keep)')
    .option('--keep <a,b,...>', 'CSV: numeric columns that pass through unchanged (a timestamp, say)')
    .option('--types <col=type,...>', 'CSV: types of columns that pass through (int64, uint64, float64, utf8), instead of what their first rows suggest')
    .addOption(new Option('--layout <layout>', 'long (a row per time step), wide (CSV: a row per series) or list (Arrow: a row per instance)').choices(['long', 'wide', 'list']))
    .option('--num-channels <c>', 'CSV wide layout: consecutive rows that form one instance (default 1)')
    .option('--delimiter <char>', 'CSV: the input\'s field delimiter (default , for .csv, tab for .tsv; "tab" works)')
    .option('--no-header', 'CSV: the input has no header row (columns are named 1, 2, ...)');
  if (output) {
    cmd
      .addOption(new Option('--output-layout <layout>', 'Arrow output: long or list (default: list for list input, else long)').choices(['long', 'list']))
      .addOption(new Option('--compression <codec>', 'Arrow output: compress record batches (default: none)').choices(['lz4', 'zstd']))
      .option('--output-delimiter <char>', 'CSV output: field delimiter (default: the input\'s for CSV to CSV, else , for .csv and tab for .tsv)')
      .option('--precision <n>', 'CSV output: significant digits (default: shortest text that reads back as the same double)')
      .option('--threads <n>', 'threads to use (default: the machine\'s cores): N - 1 of them write CSV output read from CSV; 1: everything in one');
  }
  cmd.addOption(new Option('--spill-bytes <n>', 'bytes of one CSV instance held in memory before it spills to a temporary file').hideHelp());
  if (output) cmd.addOption(new Option('--off-thread-after <n>', 'CSV output bytes written by the main thread before the formatting worker takes over (default 4 MB)').hideHelp());
  return cmd;
}

/** The "Examples:" section of a command's --help. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

type Act = (command: CommandName, inputs: string[] | string | undefined, raw: RawOptions, cmd: Command) => Promise<void>;

export function buildProgram(act: Act): Command {
  const program = new Command('tsnorm')
    .description('torch.nn.InstanceNorm1d for time-series files: exact (float64), streaming, in pipelines.')
    .version(VERSION)
    .addHelpText('after', examples(...[
      ['tsnorm x.npy -o x.norm.npy', 'normalize each series'],
      ['tsnorm fit train.npy --save-stats stats.json', 'learn running statistics'],
      ['tsnorm apply test.npy --stats stats.json -o t.npy', 'apply them'],
      ['tsnorm <command> --help', 'more on a command'],
    ].map(([line, what]) => `${line!.padEnd(52)}${what!}`)))
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput(COMMANDER_OUTPUT);

  normalizationFlags(
    program.command('normalize', { isDefault: true })
      .description('normalize each series with its own statistics (forward pass); the default command')
      .argument('[input]', 'input file, - for stdin (the default)')
      .addHelpText('after', examples('tsnorm normalize x.npy -o x.norm.npy', 'tsnorm sensors.csv --id device --keep ts > sensors.norm.csv', 'cat x.npy | tsnorm --affine affine.json > y.npy')),
    { output: true, training: true, eval: true },
  ).action((input: string | undefined, opts: RawOptions, cmd: Command) => act('normalize', input, opts, cmd));

  normalizationFlags(
    program.command('fit')
      .description('training pass over the inputs in order; writes the running statistics (--save-stats), no output')
      .argument('<inputs...>', 'input files, in order (- for stdin)')
      .addHelpText('after', examples('tsnorm fit train/*.npy --save-stats stats.json', 'tsnorm fit day1.csv day2.csv --id device --keep ts --save-stats stats.json')),
    { output: false, training: true, eval: false },
  ).action((inputs: string[], opts: RawOptions, cmd: Command) => act('fit', inputs, opts, cmd));

  normalizationFlags(
    program.command('apply')
      .description('eval pass: normalize with running statistics (--stats); one streaming pass')
      .argument('[input]', 'input file, - for stdin (the default)')
      .addHelpText('after', examples('tsnorm apply test.npy -o test.norm.npy --stats stats.json', 'tail -f live.csv | tsnorm apply --stats stats.json --id device --keep ts')),
    { output: true, training: false, eval: false },
  ).action((input: string | undefined, opts: RawOptions, cmd: Command) => act('apply', input, opts, cmd));

  normalizationFlags(
    program.command('inverse')
      .description('map normalized values back to the input\'s units with running statistics (--stats): the inverse of apply')
      .argument('[input]', 'input file, - for stdin (the default)')
      .addHelpText('after', examples('tsnorm apply x.npy -o x.norm.npy --stats s.json', 'tsnorm inverse predictions.norm.npy -o predictions.npy --stats s.json')),
    { output: true, training: false, eval: false },
  ).action((input: string | undefined, opts: RawOptions, cmd: Command) => act('inverse', input, opts, cmd));

  program.command('convert')
    .description('change format or dtype without normalizing')
    .argument('[input]', 'input file, - for stdin (the default)')
    .addHelpText('after', examples('tsnorm convert x.npy -o x.arrow', 'tsnorm convert sensors.csv --id device --keep ts -o sensors.arrows --compression zstd'))
    .option('-o, --output <file>', 'output file, - for stdout', '-')
    .addOption(new Option('--from <format>', 'input format').choices(FORMATS))
    .addOption(new Option('--to <format>', 'output format').choices(FORMATS))
    .addOption(new Option('--dtype <dtype>', 'NPY/Arrow output dtype').choices(['float32', 'float64']))
    .addOption(new Option('--budget <values>').hideHelp());
  quietFlag(program.commands[program.commands.length - 1]!);
  csvFlags(program.commands[program.commands.length - 1]!, true)
    .action((input: string | undefined, opts: RawOptions, cmd: Command) => act('convert', input, opts, cmd));

  const stats = program.command('stats').description('work with stats files')
    .addHelpText('after', examples('tsnorm stats merge s1.json s2.json -o stats.json'));
  stats.command('merge')
    .description('merge stats files of shards fitted separately: the result equals one fit over the shards in this order')
    .argument('<files...>', 'stats files, in the order of their shards')
    .requiredOption('-o, --output <file>', 'where to write the merged stats file')
    .addHelpText('after', examples('tsnorm fit shard1.npy --save-stats s1.json & tsnorm fit shard2.npy --save-stats s2.json; wait', 'tsnorm stats merge s1.json s2.json -o stats.json'))
    .action(async (files: string[], opts: { output: string }) => {
      const { mergeStatsFiles } = await import('../pipeline/stats-merge.js');
      await mergeStatsFiles(files, opts.output, (text) => process.stderr.write(`tsnorm: note: ${printable(text)}\n`));
    });

  readingFlags(program.command('inspect')
    .description('format, layout, shape and a summary of each channel (count, mean, std, min, max, missing); one streaming pass')
    .argument('<inputs...>', 'input files (- for stdin)')
    .option('--json', 'print JSON (an array, one object per input) instead of a table')
    .addHelpText('after', examples('tsnorm inspect sensors.csv --id device --keep ts', "tsnorm inspect data.npy --json | jq '.[0].perChannel'")))
    .action(async (inputs: string[], opts: RawOptions & { json?: boolean }) => {
      const { inspectInput, formatSummary } = await import('../pipeline/inspect.js');
      const reading = resolveReading(inputs, opts);
      tuneJitForJobs();
      const summaries = [];
      const progress = startProgress({ quiet: opts.quiet === true, writesStdout: false });
      try {
        for (const input of inputs) summaries.push(await inspectInput(input, reading, progress?.meter));
      } finally {
        progress?.stop();
      }
      if (opts.quiet !== true) for (const s of summaries) if (s.grouping) groupingNote(s.file, s.grouping);
      await writeTextOutput('-', opts.json ? JSON.stringify(summaries, null, 2) + '\n' : summaries.map(formatSummary).join('\n'));
    });

  readingFlags(program.command('check')
    .description('check data against a fitted reference (--stats) for CI: schema, grouping, missing values, flat channels, length, drift of means, spreads and distributions; exit 1 on a problem, 2 on an unreadable input')
    .argument('<inputs...>', 'input files (- for stdin)')
    .option('--stats <file>', 'the fitted reference: a stats file')
    .option('--stats-key <prefix>', 'the layer of a model state_dict to take, when it holds several')
    .option('--allow-nan', 'accept missing and infinite values')
    .option('--allow-constant', 'accept flat channels (std 0)')
    .option('--min-length <n>', 'fewest steps an instance may have (default 2)')
    .option('--max-z <k>', 'largest distance of an instance\'s channel mean from the running mean, in running standard deviations (default 6)')
    .option('--max-std-ratio <r>', 'an instance\'s channel std must be within a factor R of the running std (default 10)')
    .option('--max-ks <d>', 'largest KS distance of a channel\'s distribution in a file from the reference\'s (default 0.1)')
    .option('--max-psi <p>', 'largest population stability index of a channel in a file against the reference (default 0.1)')
    .option('--max-wasserstein <w>', 'largest Wasserstein distance of a channel in a file from the reference, in reference standard deviations (default 0.1)')
    .option('--min-values <n>', 'fewest values of a channel in a file for its distribution to be judged (default 1000; the scores are reported below it)')
    .option('--one-instance', 'the input (read without --id) is one instance: no grouping check')
    .addOption(new Option('--format <format>', 'report on stdout: text (default), json, junit (JUnit XML), github (workflow annotations), markdown, html (a page with charts)').choices(REPORT_FORMATS))
    .option('--report <format=file>', 'also write a report to a file (repeatable): --report junit=check.xml', (v: string, all: string[] = []) => [...all, v])
    .addHelpText('after', examples('tsnorm fit train/*.npy --save-stats reference.json', 'tsnorm check incoming.npy --stats reference.json --format junit > check.xml', 'tsnorm check incoming.csv --id device --stats reference.json --report junit=check.xml --report markdown=summary.md')))
    .action(async (inputs: string[], opts: RawOptions & CheckFlags) => {
      const check = await import('../pipeline/check.js');
      const { renderReport } = await import('../pipeline/check-reports.js');
      const plan = resolveCheck(inputs, opts);
      const reading = resolveReading(inputs, opts);
      tuneJitForJobs();
      let result: CheckReport;
      try {
        const stats = plan.loadStats();
        if (!stats.sketch && opts.quiet !== true) {
          process.stderr.write(`tsnorm: note: ${printable(plan.statsFile)} has no sketch of the fitted values (a state_dict, or a stats file of an older tsnorm): the distribution checks are skipped; tsnorm fit writes one\n`);
        }
        const progress = startProgress({ quiet: opts.quiet === true, writesStdout: false });
        try {
          result = await check.checkInputs(inputs, stats, plan.limits, { reading, grouped: reading.table.id !== undefined, meter: progress?.meter });
        } finally {
          progress?.stop();
        }
      } catch (err) {
        // A stats file that cannot be read fails every input: one failing entry, in every report.
        if (!(err instanceof TsnormError)) throw err;
        result = check.unreadableStats(plan.statsFile, err.message, plan.limits);
      }
      // What could not be read is said on stderr too, one line each, as any error.
      for (const f of result.files) if (f.error !== undefined) process.stderr.write(`tsnorm: ${errorLine(f.error)}\n`);
      const unresolved = [...new Set(result.files.flatMap((f) => f.channels.filter((c) => c.resolved === false).map((c) => c.name)))];
      if (unresolved.length > 0 && opts.quiet !== true) {
        process.stderr.write(`tsnorm: note: ${printable(unresolved.map((c) => `'${c}'`).join(', '))}: the reference's values vary too little for their size for its sketch to tell distributions apart (a std below 0.4% of the mean): no distribution scores for ${unresolved.length === 1 ? 'it' : 'them'}\n`);
      }
      for (const r of plan.reports) await writeTextOutput(r.path, renderReport(r.format, result));
      try {
        await writeTextOutput('-', renderReport(plan.format, result));
      } catch (err) {
        // A reader that stopped early (| head) does not change what was found: the exit code still says so.
        if (!(err instanceof ClosedOutputError)) throw err;
      }
      if (result.files.some((f) => f.error !== undefined)) throw new InputsUnreadable();
      if (Object.values(result.counts).some((n) => n > 0)) throw new ChecksFailed();
    });

  program.command('completion')
    .description('print a completion script for bash, zsh or fish (commands, flags, flag values, file names)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .addHelpText('after', examples(
      'source <(tsnorm completion bash)                       # bash, now; or in ~/.bashrc',
      'tsnorm completion bash > ~/.local/share/bash-completion/completions/tsnorm',
      'tsnorm completion zsh > "${fpath[1]}/_tsnorm"          # zsh, then a new shell',
      'tsnorm completion fish > ~/.config/fish/completions/tsnorm.fish',
    ))
    .action(async (shell: 'bash' | 'zsh' | 'fish') => {
      const { completionScript, describeCommand } = await import('./shell.js');
      await writeTextOutput('-', completionScript(shell, describeCommand(program)));
    });

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
  return `tsnorm: ${errorLine(str.trim().replace(/^error: /, ''))}\n`;
}

/** An error message as one printable line of sensible length (inputs can put megabytes in one). */
function errorLine(message: string): string {
  const line = printable(message);
  return line.length > 2000 ? `${line.slice(0, 1200)} ... ${line.slice(-600)}` : line;
}

/** Help was shown instead of running (no input and a terminal on stdin): a usage error. */
class UsageShown extends Error {}

/** The note for a file read as one instance whose rows look like several (check reports it as a problem). */
function groupingNote(file: string, hint: GroupingHint): void {
  process.stderr.write(`tsnorm: note: ${printable(`${file}: ${groupingText(hint)}; --id ${shellWord(hint.column)}? (-q if the file is one instance)`)}\n`);
}

/** `check` found problems (reported already): exit code 1. */
class ChecksFailed extends Error {}

/** `check` could not read an input (reported already, and said on stderr): exit code 2. */
class InputsUnreadable extends Error {}

/** Flags of commands that only read (inspect, check): the input's format and layout. */
function readingFlags(cmd: Command): Command {
  cmd.addOption(new Option('--from <format>', 'input format (default: by extension, else by content)').choices(FORMATS));
  quietFlag(cmd);
  cmd.addOption(new Option('--budget <values>').hideHelp());
  return csvFlags(cmd, false);
}

/**
 * A first word that is neither a command nor a file but looks like a mistyped command
 * (`normalise`, `fitt`): say so, instead of reading it as an input file.
 */
function mistypedCommand(argv: readonly string[]): string | undefined {
  const word = argv[0];
  if (word === undefined || word.startsWith('-') || COMMANDS.includes(word) || fs.existsSync(word)) return undefined;
  const near = COMMANDS.filter((c) => editDistance(word.toLowerCase(), c) <= Math.min(2, Math.floor(c.length / 3)) || (word.length >= 3 && c.startsWith(word.toLowerCase())));
  return near[0];
}

/** A word as a shell takes it: as it is when it is plain, else in single quotes. */
function shellWord(word: string): string {
  return /^[\w.,:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
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
  const program = buildProgram(async (command, given, raw, cmd) => {
    const inputs = given === undefined ? [] : typeof given === 'string' ? [given] : given;
    // No input named and a person at the keyboard: show how to use it rather than wait silently.
    if (inputs.length === 0 && process.stdin.isTTY) {
      process.stderr.write(cmd.helpInformation());
      throw new UsageShown();
    }
    const plan = resolvePlan(command, inputs, raw);
    tuneJitForJobs();
    const progress = startProgress({ quiet: raw.quiet === true, writesStdout: plan.output?.path === '-' });
    let summary;
    try {
      summary = await run(plan, progress?.meter);
    } finally {
      progress?.stop();
    }
    if (summary.timeLikeChannels.length > 0 && raw.quiet !== true) {
      const names = summary.timeLikeChannels;
      const one = names.length === 1;
      const note = `${one ? 'column' : 'columns'} ${names.map((n) => `'${n}'`).join(', ')} ${one ? 'looks like time but is a channel' : 'look like time but are channels'}` +
        `; --keep ${shellWord(names.join(','))} carries ${one ? 'it' : 'them'} through unchanged`;
      process.stderr.write(`tsnorm: note: ${printable(note)}\n`);
    }
    if (raw.quiet !== true) for (const g of summary.grouping) groupingNote(g.file, g.hint);
    if (summary.nanSeries > 0 && raw.quiet !== true) {
      const series = `${summary.nanSeries} series (instance, channel)`;
      process.stderr.write(plan.nan === 'ignore'
        ? `tsnorm: note: ${series} had infinite values and are all NaN in the output; --nan ignore leaves out only missing values\n`
        : `tsnorm: note: ${series} had missing or infinite values and are all NaN in the output, as torch does; --nan ignore leaves missing values out of the statistics instead\n`);
    }
  });
  try {
    const typo = mistypedCommand(argv);
    if (typo !== undefined) throw new TsnormError(`unknown command '${argv[0]}' (and no such file): did you mean '${typo}'? (tsnorm --help lists the commands)`);
    // commander keeps whichever of the two comes last: refuse the contradiction instead.
    if (argv.includes('--no-affine') && argv.some((a) => a === '--affine' || a.startsWith('--affine='))) throw new TsnormError('--affine and --no-affine contradict each other: give one');
    // `tsnorm help bogus`: commander would print the whole usage without saying why.
    if (argv[0] === 'help' && argv[1] !== undefined && !argv[1].startsWith('-') && !COMMANDS.includes(argv[1])) {
      const near = COMMANDS.find((c) => editDistance(argv[1]!.toLowerCase(), c) <= 2);
      throw new TsnormError(`help: unknown command '${argv[1]}'${near ? `: did you mean '${near}'?` : ''} (the commands: ${COMMANDS.filter((c) => c !== 'help').join(', ')})`);
    }
    // `tsnorm help stats merge`: commander's help command shows only `stats`; --help shows `merge`.
    const helpFor = argv[0] === 'help' && argv.length > 2 && COMMANDS.includes(argv[1]!) ? [...argv.slice(1), '--help'] : argv;
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
