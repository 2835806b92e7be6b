import type { Command } from 'commander';
import { printable } from '../../errors.js';
import { checkStatsPath } from '../resolve.js';
import { examples, withFlags } from './common.js';

// stats merge: shards fitted separately, merged into the stats file of one fit over them all.

/** Defines `stats` and its subcommands; returns it (main configures its subcommands' output). */
export function defineStats(program: Command): Command {
  const stats = program
    .command('stats')
    .description('work with stats files')
    .addHelpText('after', examples('tsnorm stats merge s1.json s2.json -o stats.json'));
  withFlags(
    stats
      .command('merge')
      .description('merge stats files of shards fitted separately: the result equals one fit over the shards in this order')
      .argument('<files...>', 'stats files, in the order of their shards'),
    'stats merge',
  )
    .addHelpText(
      'after',
      examples(
        'tsnorm fit shard1.npy --save-stats s1.json & tsnorm fit shard2.npy --save-stats s2.json; wait',
        'tsnorm stats merge s1.json s2.json -o stats.json',
      ),
    )
    .action(async (files: string[], opts: { output: string }) => {
      checkStatsPath(opts.output, '-o');
      const { mergeStatsFiles } = await import('../../pipeline/stats-merge.js');
      await mergeStatsFiles(files, opts.output, (text) => process.stderr.write(`tsnorm: note: ${printable(text)}\n`));
    });
  return stats;
}
