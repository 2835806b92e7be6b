import type { NanPolicy } from '../core/engine.js';
import { parseFormat } from '../formats/detect.js';
import { TsnormError } from '../errors.js';
import type { CsvOptions } from '../formats/registry.js';
import type { Plan } from '../pipeline/plan.js';
import { checkEps, checkMomentum, loadParams } from '../stats-file.js';

/** The flags commander hands over, as strings and booleans, before any checking. */
export interface RawOptions {
  output?: string;
  eps?: string;
  momentum?: string;
  affine?: string;
  trackRunningStats?: boolean;
  stats?: string;
  saveStats?: string;
  eval?: boolean;
  batchSize?: string;
  dtype?: string;
  from?: string;
  to?: string;
  nan?: string;
  budget?: string;
  // CSV/TSV
  id?: string;
  channels?: string;
  keep?: string;
  layout?: string;
  numChannels?: string;
  delimiter?: string;
  header?: boolean;
  precision?: string;
  spillBytes?: string;
}

export type Command = Plan['command'];

/**
 * Turns raw flags into a Plan, checking every value and every combination before anything is
 * read. Parameter files (--stats, --affine) are loaded here so that a bad file fails first.
 */
export function resolvePlan(command: Command, inputs: string[], raw: RawOptions): Plan {
  const paths = inputs.length > 0 ? inputs : ['-'];
  if (command !== 'fit' && paths.length > 1) throw new TsnormError(`${command} takes one input, got ${paths.length}: ${paths.join(' ')}`);
  if (paths.filter((p) => p === '-').length > 1) throw new TsnormError('stdin (-) can be read only once');
  const eps = raw.eps === undefined ? undefined : checkEps(raw.eps, '--eps');
  const momentum = raw.momentum === undefined ? undefined : checkMomentum(raw.momentum, '--momentum');
  const batchSize = raw.batchSize === undefined ? undefined : positiveInteger(raw.batchSize, '--batch-size');
  const budget = raw.budget === undefined ? undefined : positiveInteger(raw.budget, '--budget');
  const nan: NanPolicy = oneOf(raw.nan ?? 'propagate', ['propagate', 'ignore', 'error'] as const, '--nan');
  const dtype = raw.dtype === undefined ? undefined : oneOf(raw.dtype, ['float32', 'float64'] as const, '--dtype');
  const from = raw.from === undefined ? undefined : parseFormat(raw.from, '--from');
  const to = raw.to === undefined ? undefined : parseFormat(raw.to, '--to');

  let training = !raw.eval;
  // --stats or --save-stats mean running statistics are wanted; `fit` and `apply` always use them.
  let track = Boolean(raw.trackRunningStats || raw.stats || raw.saveStats);
  if (command === 'fit') {
    training = true;
    track = true;
    if (!raw.saveStats) throw new TsnormError('fit needs --save-stats FILE (where to write the running statistics)');
    if (raw.output) throw new TsnormError('fit writes no normalized output (-o); use normalize --save-stats for both');
  }
  if (command === 'apply') {
    training = false;
    track = true;
    if (!raw.stats) throw new TsnormError('apply needs --stats FILE (the running statistics to apply)');
  }
  if (command === 'convert' && (raw.stats || raw.affine || raw.saveStats || raw.eval || raw.trackRunningStats)) {
    throw new TsnormError('convert changes format only; it takes no normalization flags');
  }
  if (!training && track && !raw.stats) throw new TsnormError('--eval with running statistics needs --stats FILE');
  if (raw.saveStats && !training) throw new TsnormError('--save-stats: eval mode does not change the running statistics; nothing to save');
  if (batchSize !== undefined && !track) throw new TsnormError('--batch-size only matters with running statistics (--track-running-stats)');

  const stats = raw.stats === undefined ? undefined : loadParams(raw.stats);
  if (stats && (!stats.runningMean || !stats.runningVar)) throw new TsnormError(`${raw.stats}: expected "running_mean" and "running_var"`);
  const affine = raw.affine === undefined ? undefined : loadParams(raw.affine);
  const output = command === 'fit' ? undefined : { path: raw.output ?? '-', format: to, dtype };
  if (output && output.path !== '-' && raw.saveStats && output.path === raw.saveStats) throw new TsnormError(`-o and --save-stats name the same file: ${output.path}`);

  const csv = resolveCsv(raw);
  return {
    command,
    csv,
    inputs: paths.map((path) => ({ path, format: from })),
    output,
    eps,
    momentum,
    training,
    trackRunningStats: track,
    stats,
    affine,
    saveStats: raw.saveStats,
    batchSize,
    nan,
    budget,
  };
}

function positiveInteger(v: string, flag: string): number {
  const x = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(x) || x < 1) throw new TsnormError(`${flag}: expected a whole number >= 1, got '${v}'`);
  return x;
}

function oneOf<T extends string>(v: string, choices: readonly T[], flag: string): T {
  const found = choices.find((c) => c === v);
  if (found === undefined) throw new TsnormError(`${flag}: expected one of ${choices.join(', ')}, got '${v}'`);
  return found;
}

function names(v: string | undefined, flag: string): string[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(',').map((s) => s.trim());
  if (list.some((s) => s === '')) throw new TsnormError(`${flag}: expected comma-separated column names, got '${v}'`);
  return list;
}

function resolveCsv(raw: RawOptions): CsvOptions {
  const layout = oneOf(raw.layout ?? 'long', ['long', 'wide'] as const, '--layout');
  const numChannels = raw.numChannels === undefined ? undefined : positiveInteger(raw.numChannels, '--num-channels');
  if (numChannels !== undefined && layout !== 'wide') throw new TsnormError('--num-channels goes with --layout wide');
  if (layout === 'wide' && (raw.id !== undefined || raw.channels !== undefined)) throw new TsnormError('--layout wide: rows are series; --id and --channels are for the long layout');
  let delimiter = raw.delimiter;
  if (delimiter !== undefined) {
    delimiter = ({ '\\t': '\t', tab: '\t', comma: ',', semicolon: ';', space: ' ', pipe: '|' } as Record<string, string>)[delimiter] ?? delimiter;
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') throw new TsnormError(`--delimiter: expected one character (or tab), got '${raw.delimiter}'`);
  }
  const precision = raw.precision === undefined ? undefined : positiveInteger(raw.precision, '--precision');
  if (precision !== undefined && precision > 17) throw new TsnormError('--precision: at most 17 significant digits (17 already round-trips every float64)');
  return {
    layout,
    id: raw.id,
    channels: names(raw.channels, '--channels'),
    keep: names(raw.keep, '--keep'),
    numChannels,
    delimiter,
    header: raw.header !== false,
    precision,
    budgetBytes: raw.spillBytes === undefined ? undefined : positiveInteger(raw.spillBytes, '--spill-bytes'),
  };
}
