import type { Command } from 'commander';
import { writeTextOutput } from '../../io/byte-sink.js';
import { tuneJitForJobs } from '../jit.js';
import { startProgress } from '../progress.js';
import { expandInputs } from '../../pipeline/dataset.js';
import { type RawOptions, resolveReading } from '../resolve.js';
import { examples, groupingNote, withFlags } from './common.js';

// inspect: each input described (format, layout, shape, a summary per channel) in one pass.

export function defineInspect(program: Command): void {
  withFlags(
    program
      .command('inspect')
      .description('format, layout, shape and a summary of each channel (count, mean, std, min, max, missing); one streaming pass')
      .argument('<inputs...>', 'input files or folders (- for stdin)')
      .addHelpText('after', examples('tsnorm inspect sensors.csv --id device --keep ts', "tsnorm inspect data.npy --json | jq '.[0].perChannel'")),
    'inspect',
  ).action(async (given: string[], opts: RawOptions & { json?: boolean }) => {
    const { inspectInput, formatSummary } = await import('../../pipeline/inspect.js');
    const inputs = expandInputs(given).files.map((f) => f.path);
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
}
