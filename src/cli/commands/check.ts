import type { Command } from 'commander';
import { TsnormError, printable } from '../../errors.js';
import { ClosedOutputError, writeTextOutput } from '../../io/byte-sink.js';
import type { CheckReport } from '../../pipeline/check.js';
import { tuneJitForJobs } from '../jit.js';
import { startProgress } from '../progress.js';
import { expandInputs } from '../../pipeline/dataset.js';
import { type CheckFlags, type RawOptions, resolveCheck, resolveReading } from '../resolve.js';
import { ChecksFailed, InputsUnreadable, errorLine, examples, withFlags } from './common.js';

// check: inputs against a fitted reference, a report on stdout and in files, exit 1 on a problem.

export function defineCheck(program: Command): void {
  withFlags(
    program
      .command('check')
      .description(
        'check data against a fitted reference (--stats) for CI: schema, grouping, missing values, flat channels, length, drift of means, spreads and distributions; exit 1 on a problem, 2 on an unreadable input',
      )
      .argument('<inputs...>', 'input files or folders (- for stdin)')
      .addHelpText(
        'after',
        examples(
          'tsnorm fit train/*.npy --save-stats reference.json',
          'tsnorm check incoming.npy --stats reference.json --format junit > check.xml',
          'tsnorm check incoming.csv --id device --stats reference.json --report junit=check.xml --report markdown=summary.md',
        ),
      ),
    'check',
  ).action(async (given: string[], opts: RawOptions & CheckFlags) => {
    const inputs = expandInputs(given).files.map((f) => f.path);
    const check = await import('../../pipeline/check.js');
    const { renderReport } = await import('../../pipeline/check-reports.js');
    const plan = resolveCheck(inputs, opts);
    const reading = resolveReading(inputs, opts);
    tuneJitForJobs();
    let result: CheckReport;
    try {
      const stats = plan.loadStats();
      if (!stats.sketch && opts.quiet !== true) {
        process.stderr.write(
          `tsnorm: note: ${printable(plan.statsFile)} has no sketch of the fitted values (a state_dict, or a stats file of an older tsnorm): the distribution checks are skipped; tsnorm fit writes one\n`,
        );
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
      process.stderr.write(
        `tsnorm: note: ${printable(unresolved.map((c) => `'${c}'`).join(', '))}: the reference's values vary too little for their size for its sketch to tell distributions apart (a std below 0.4% of the mean): no distribution scores for ${unresolved.length === 1 ? 'it' : 'them'}\n`,
      );
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
}
