import fs from 'node:fs';
import type { Command } from 'commander';
import { printable } from '../../errors.js';
import { run } from '../../pipeline/run.js';
import { tuneJitForJobs } from '../jit.js';
import { startProgress } from '../progress.js';
import { type Command as CommandName, type RawOptions, resolvePlan } from '../resolve.js';
import { UsageShown, examples, groupingNote, shellWord, withFlags } from './common.js';

// normalize, fit, apply, inverse and convert: a plan resolved from the flags, run input by input
// through reader, core and writer (src/pipeline/run.ts), and the notes of the run.

export type Act = (command: CommandName, inputs: string[] | string | undefined, raw: RawOptions, cmd: Command) => Promise<void>;

/** Defines the commands that run data through; `act` runs them (main's runCommand; a no-op to only describe them). */
export function defineRunCommands(program: Command, act: Act): void {
  withFlags(
    program
      .command('normalize', { isDefault: true })
      .description('normalize each series with its own statistics (forward pass); the default command')
      .argument('[inputs...]', 'input files or folders, - for stdin (the default); several write to -o FOLDER, each under its own path')
      .addHelpText(
        'after',
        examples(
          'tsnorm normalize x.npy -o x.norm.npy',
          'tsnorm sensors.csv --id device --keep ts > sensors.norm.csv',
          'cat x.npy | tsnorm --affine affine.json > y.npy',
          'tsnorm normalize data/ -o normalized/ --id item_id --to parquet',
        ),
      ),
    'normalize',
  ).action((inputs: string[], opts: RawOptions, cmd: Command) => act('normalize', inputs, opts, cmd));

  withFlags(
    program
      .command('fit')
      .description('training pass over the inputs in order; writes the running statistics (--save-stats), no output')
      .argument('[inputs...]', 'input files, in order, - for stdin (the default)')
      .addHelpText(
        'after',
        examples(
          'tsnorm fit train/*.npy --save-stats stats.json',
          'tsnorm fit day1.csv day2.csv --id device --keep ts --save-stats stats.json',
          'tsnorm fit data/ --id device --save-stats stats.json',
        ),
      ),
    'fit',
  ).action((inputs: string[], opts: RawOptions, cmd: Command) => act('fit', inputs, opts, cmd));

  withFlags(
    program
      .command('apply')
      .description('eval pass: normalize with running statistics (--stats); one streaming pass')
      .argument('[inputs...]', 'input files or folders, - for stdin (the default); several write to -o FOLDER, each under its own path')
      .addHelpText(
        'after',
        examples(
          'tsnorm apply test.npy -o test.norm.npy --stats stats.json',
          'tsnorm apply test/ -o test.norm/ --stats stats.json --copy-others',
          'tail -n +1 -f live.csv | tsnorm apply --stats stats.json --id device --keep ts',
        ),
      ),
    'apply',
  ).action((inputs: string[], opts: RawOptions, cmd: Command) => act('apply', inputs, opts, cmd));

  withFlags(
    program
      .command('inverse')
      .description("map normalized values back to the input's units with running statistics (--stats): the inverse of apply")
      .argument('[inputs...]', 'input files or folders, - for stdin (the default); several write to -o FOLDER, each under its own path')
      .addHelpText(
        'after',
        examples('tsnorm apply x.npy -o x.norm.npy --stats s.json', 'tsnorm inverse predictions.norm.npy -o predictions.npy --stats s.json'),
      ),
    'inverse',
  ).action((inputs: string[], opts: RawOptions, cmd: Command) => act('inverse', inputs, opts, cmd));

  withFlags(
    program
      .command('convert')
      .description('change format or dtype without normalizing')
      .argument('[inputs...]', 'input files or folders, - for stdin (the default); several write to -o FOLDER, each under its own path')
      .addHelpText(
        'after',
        examples('tsnorm convert x.npy -o x.arrow', 'tsnorm convert sensors.csv --id device --keep ts -o sensors.arrows --compression zstd'),
      ),
    'convert',
  ).action((inputs: string[], opts: RawOptions, cmd: Command) => act('convert', inputs, opts, cmd));
}

/** Runs one of these commands: resolves its plan, runs it, prints its notes. */
export async function runCommand(command: CommandName, given: string[] | string | undefined, raw: RawOptions, cmd: Command): Promise<void> {
  const inputs = given === undefined ? [] : typeof given === 'string' ? [given] : given;
  // No input named and a person at the keyboard: show how to use it rather than wait silently.
  if (inputs.length === 0 && process.stdin.isTTY) {
    process.stderr.write(cmd.helpInformation());
    throw new UsageShown();
  }
  const plan = resolvePlan(command, inputs, raw);
  tuneJitForJobs();
  const progress = startProgress({ quiet: raw.quiet === true, writesStdout: plan.output?.path === '-' });
  if (progress && plan.inputs.length > 1) {
    const sizes = plan.inputs.map((i) => (i.path === '-' ? 0 : (fs.statSync(i.path, { throwIfNoEntry: false })?.size ?? 0)));
    progress.meter.beginSet(
      plan.inputs.length,
      sizes.reduce((a, b) => a + b, 0),
    );
  }
  let summary: Awaited<ReturnType<typeof run>>;
  try {
    summary = await run(plan, progress?.meter);
  } finally {
    progress?.stop();
  }
  if (summary.timeLikeChannels.length > 0 && raw.quiet !== true) {
    const names = summary.timeLikeChannels;
    const one = names.length === 1;
    const note =
      `${one ? 'column' : 'columns'} ${names.map((n) => `'${n}'`).join(', ')} ${one ? 'looks like time but is a channel' : 'look like time but are channels'}` +
      `; --keep ${shellWord(names.join(','))} carries ${one ? 'it' : 'them'} through unchanged`;
    process.stderr.write(`tsnorm: note: ${printable(note)}\n`);
  }
  if (raw.quiet !== true) for (const g of summary.grouping) groupingNote(g.file, g.hint);
  const others = plan.others ?? [];
  if (others.length > 0 && !plan.copyOthers && raw.quiet !== true) {
    const shown = others.slice(0, 5).map((f) => f.path);
    const more = others.length > shown.length ? `, and ${others.length - shown.length} more` : '';
    const fix = plan.output?.folder ? ' (--copy-others copies them to the output folder unchanged)' : '';
    process.stderr.write(
      `tsnorm: note: left out ${others.length} file${others.length === 1 ? '' : 's'} of no format tsnorm reads: ${printable(shown.join(', '))}${more}${fix}\n`,
    );
  }
  if (summary.nanSeries > 0 && raw.quiet !== true) {
    const series = `${summary.nanSeries} series (instance, channel)`;
    process.stderr.write(
      plan.nan === 'ignore'
        ? `tsnorm: note: ${series} had infinite values and are all NaN in the output; --nan ignore leaves out only missing values\n`
        : `tsnorm: note: ${series} had missing or infinite values and are all NaN in the output, as torch does; --nan ignore leaves missing values out of the statistics instead\n`,
    );
  }
}
