import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES } from './cli.js';

/** A case of fixtures/cases (written by fixtures/generate.py from torch). */
export interface FixtureCase {
  name: string;
  dir: string;
  input: string;
  extra_inputs?: string[];
  shape: number[];
  dtype: string;
  eps: number;
  momentum: number | 'cumulative';
  track_running_stats: boolean;
  training: boolean;
  batch_size: number | null;
  affine?: string;
  stats_in?: string;
  nan?: 'propagate' | 'ignore';
  expected?: string;
  expected_precision?: 'float32' | 'float64';
  expected_stats?: string;
  output_dtype?: string;
  expect_error?: string;
  /** "fit-default": run as `tsnorm fit` with no --momentum and no --batch-size. */
  cli?: 'fit-default';
  /** The state_dict layer to pick with --stats-key. */
  stats_key?: string;
}

export function loadCases(): FixtureCase[] {
  const root = path.join(FIXTURES, 'cases');
  return fs
    .readdirSync(root)
    .sort()
    .map((name) => {
      const dir = path.join(root, name);
      return { ...JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8')), name, dir } as FixtureCase;
    });
}

/** The command line that runs a case, as a user would type it (without the input/output paths). */
export function caseArgs(c: FixtureCase, input: string, extra: string[], output: string, statsOut: string): string[] {
  const common = ['--eps', String(c.eps)];
  if (c.affine) common.push('--affine', path.join(c.dir, c.affine));
  if (c.nan) common.push('--nan', c.nan);
  const batch = c.batch_size ? ['--batch-size', String(c.batch_size)] : [];
  const statsIn = c.stats_in ? ['--stats', path.join(c.dir, c.stats_in), ...(c.stats_key ? ['--stats-key', c.stats_key] : [])] : [];
  if (c.cli === 'fit-default') return ['fit', input, ...extra, '--save-stats', statsOut, ...common, ...statsIn];
  if (c.track_running_stats && c.training && extra.length > 0) {
    return ['fit', input, ...extra, '--save-stats', statsOut, '--momentum', String(c.momentum), ...common, ...statsIn, ...batch];
  }
  if (c.track_running_stats && c.training) {
    return [
      'normalize',
      input,
      '-o',
      output,
      '--track-running-stats',
      '--momentum',
      String(c.momentum),
      '--save-stats',
      statsOut,
      ...common,
      ...statsIn,
      ...batch,
    ];
  }
  if (c.track_running_stats) return ['apply', input, '-o', output, ...statsIn, ...common];
  return ['normalize', input, '-o', output, ...common];
}

export function tolerance(c: FixtureCase, outputDtype: string): number {
  return outputDtype.endsWith('f4') || c.expected_precision === 'float32' ? 1e-6 : 1e-9;
}
