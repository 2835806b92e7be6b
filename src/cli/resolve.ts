import path from 'node:path';
import os from 'node:os';
import type { NanPolicy } from '../core/engine.js';
import type { Momentum } from '../core/running-stats.js';
import { TsnormError } from '../errors.js';
import { FORMATS, formatFromPath, parseFormat } from '../formats/detect.js';
import { PASS_TYPES, type PassType, type TableOptions } from '../formats/format.js';
import { type FileRole, checkDistinctFiles } from '../io/same-file.js';
import { type CheckLimits, DEFAULT_LIMITS } from '../pipeline/check.js';
import { REPORT_FORMATS, type ReportFormat } from '../pipeline/check-reports.js';
import { DEFAULT_EPS, DEFAULT_MOMENTUM, type Plan, type ReadingPlan } from '../pipeline/plan.js';
import { choicesOf, givenFormatFlags } from './flags.js';
import { type LoadedParams, checkEps, checkMomentum } from '../core/state-dict.js';
import { loadParams } from '../stats-file.js';

/** The flags commander hands over, as strings and booleans, before any checking. */
export interface RawOptions {
  output?: string;
  eps?: string;
  momentum?: string;
  /** A file, or false for --no-affine. */
  affine?: string | false;
  trackRunningStats?: boolean;
  stats?: string;
  statsKey?: string;
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
  types?: string;
  layout?: string;
  numChannels?: string;
  delimiter?: string;
  outputDelimiter?: string;
  header?: boolean;
  precision?: string;
  spillBytes?: string;
  threads?: string;
  offThreadAfter?: string;
  compression?: string;
  outputLayout?: string;
  /** --quiet: the CLI's (no progress bar, no notes); the plan does not depend on it. */
  quiet?: boolean;
}

export type Command = Plan['command'];

/**
 * Turns raw flags into a Plan, checking every value and every combination before anything is
 * read. Parameter files (--stats, --affine) are loaded here so that a bad file fails first, and
 * the files a run touches are compared, so that no output replaces a file the run reads.
 */
export function resolvePlan(command: Command, inputs: string[], raw: RawOptions): Plan {
  const paths = inputs.length > 0 ? inputs : ['-'];
  if (command !== 'fit' && paths.length > 1) throw new TsnormError(`${command} takes one input, got ${paths.length}: ${paths.join(' ')}`, 'TSNORM_USAGE');
  if (paths.filter((p) => p === '-').length > 1) throw new TsnormError('stdin (-) can be read only once', 'TSNORM_USAGE');
  const givenEps = raw.eps === undefined ? undefined : checkEps(raw.eps, '--eps');
  const givenMomentum = raw.momentum === undefined ? undefined : checkMomentum(raw.momentum, '--momentum');
  const givenBatch = raw.batchSize === undefined ? undefined : positiveInteger(raw.batchSize, '--batch-size');
  const budget = raw.budget === undefined ? undefined : positiveInteger(raw.budget, '--budget');
  const nan: NanPolicy = oneOf(raw.nan ?? 'propagate', choicesOf<NanPolicy>('nan'), '--nan');
  const dtype = raw.dtype === undefined ? undefined : oneOf(raw.dtype, choicesOf<'float32' | 'float64'>('dtype'), '--dtype');
  const from = raw.from === undefined ? undefined : parseFormat(raw.from, '--from');
  const to = raw.to === undefined ? undefined : parseFormat(raw.to, '--to');

  let training = !raw.eval;
  // --stats or --save-stats mean running statistics are wanted; `fit` and `apply` always use them.
  let track = Boolean(raw.trackRunningStats || raw.stats || raw.saveStats);
  if (command === 'fit') {
    training = true;
    track = true;
    if (!raw.saveStats) throw new TsnormError('fit needs --save-stats FILE (where to write the running statistics)', 'TSNORM_USAGE');
    if (raw.output) throw new TsnormError('fit writes no normalized output (-o); use normalize --save-stats for both', 'TSNORM_USAGE');
  }
  if (command === 'apply' || command === 'inverse') {
    training = false;
    track = true;
    if (!raw.stats)
      throw new TsnormError(
        `${command} needs --stats FILE (the running statistics to ${command === 'apply' ? 'apply' : 'map the values back with'})`,
        'TSNORM_USAGE',
      );
  }
  if (
    command === 'convert' &&
    (raw.stats ||
      raw.affine !== undefined ||
      raw.saveStats ||
      raw.eval ||
      raw.trackRunningStats ||
      raw.eps !== undefined ||
      raw.nan !== undefined ||
      raw.statsKey !== undefined ||
      raw.momentum !== undefined ||
      raw.batchSize !== undefined)
  ) {
    throw new TsnormError('convert changes format only; it takes no normalization flags', 'TSNORM_USAGE');
  }
  if (!training && track && !raw.stats) throw new TsnormError('--eval with running statistics needs --stats FILE', 'TSNORM_USAGE');
  if (raw.saveStats && !training) throw new TsnormError('--save-stats: eval mode does not change the running statistics; nothing to save', 'TSNORM_USAGE');
  if (givenBatch !== undefined && !(track && training))
    throw new TsnormError('--batch-size only matters when running statistics are updated (--track-running-stats, --save-stats, or fit)', 'TSNORM_USAGE');
  if (givenMomentum !== undefined && !(track && training))
    throw new TsnormError('--momentum only matters when running statistics are updated (--track-running-stats, --save-stats, or fit)', 'TSNORM_USAGE');
  if (raw.statsKey !== undefined && raw.stats === undefined && typeof raw.affine !== 'string')
    throw new TsnormError('--stats-key picks a layer in a --stats or --affine file; neither is given', 'TSNORM_USAGE');
  if (raw.affine === false && raw.stats === undefined)
    throw new TsnormError('--no-affine leaves out the weight and bias of a --stats file; there is none', 'TSNORM_USAGE');

  const key = raw.statsKey === undefined ? {} : { key: raw.statsKey };
  const stats = raw.stats === undefined ? undefined : loadParams(raw.stats, { ...key, purpose: 'stats' });
  if (stats && (!stats.runningMean || !stats.runningVar)) throw new TsnormError(`${raw.stats}: expected "running_mean" and "running_var"`, 'TSNORM_USAGE');
  // A state_dict's weight and bias are applied as the module they came from would apply them.
  let affine: LoadedParams | undefined;
  if (typeof raw.affine === 'string') affine = loadParams(raw.affine, { ...key, purpose: 'affine' });
  else if (raw.affine === undefined && stats?.hasAffine) affine = stats;

  const eps = givenEps ?? stats?.eps ?? DEFAULT_EPS;
  // fit learns the data's own statistics by default: every instance weighs the same.
  const momentum: Momentum = givenMomentum ?? stats?.momentum ?? (command === 'fit' ? 'cumulative' : DEFAULT_MOMENTUM);
  const batchSize = givenBatch ?? (command === 'fit' && givenMomentum === undefined && momentum === 'cumulative' ? 1 : undefined);

  const outputPath = command === 'fit' ? undefined : (raw.output ?? '-');
  checkDistinctFiles(fileRoles(paths, raw, outputPath));
  const output = outputPath === undefined ? undefined : { path: outputPath, format: to ?? outputFormatOf(outputPath), dtype };

  const table = resolveTable(raw);
  return {
    command,
    table,
    formatFlags: givenFormatFlags(raw as Record<string, unknown>),
    holdBytes: raw.spillBytes === undefined ? undefined : positiveInteger(raw.spillBytes, '--spill-bytes'),
    compression: raw.compression === undefined ? undefined : oneOf(raw.compression, choicesOf<'lz4' | 'zstd'>('compression'), '--compression'),
    threads: raw.threads === undefined ? os.availableParallelism() : positiveInteger(raw.threads, '--threads'),
    offThreadAfter: raw.offThreadAfter === undefined ? undefined : wholeNumber(raw.offThreadAfter, '--off-thread-after'),
    inputs: paths.map((p) => ({ path: p, format: from })),
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

/** The format an output path's extension names; an extension that names none is refused, not guessed. */
function outputFormatOf(file: string): Plan['inputs'][number]['format'] {
  if (file === '-') return undefined;
  const known = formatFromPath(file);
  if (known) return known;
  const ext = path.extname(path.basename(file).replace(/\.gz$/i, ''));
  if (ext === '') return undefined;
  throw new TsnormError(
    `${file}: '${ext}' names no format tsnorm writes (${FORMATS.join(', ')}); use a known extension, or name the format with --to`,
    'TSNORM_USAGE',
  );
}

function fileRoles(inputs: readonly string[], raw: RawOptions, output: string | undefined): FileRole[] {
  const roles: FileRole[] = inputs.map((p) => ({ role: 'input', flag: 'INPUT', path: p }));
  if (output !== undefined) roles.push({ role: 'output', flag: '-o', path: output });
  if (raw.stats !== undefined) roles.push({ role: 'stats', flag: '--stats', path: raw.stats });
  if (typeof raw.affine === 'string') roles.push({ role: 'affine', flag: '--affine', path: raw.affine });
  if (raw.saveStats !== undefined) roles.push({ role: 'save-stats', flag: '--save-stats', path: raw.saveStats });
  return roles;
}

function wholeNumber(v: string, flag: string): number {
  const x = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(x)) throw new TsnormError(`${flag}: expected a whole number >= 0, got '${v}'`, 'TSNORM_USAGE');
  return x;
}

function positiveInteger(v: string, flag: string): number {
  const x = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(x) || x < 1) throw new TsnormError(`${flag}: expected a whole number >= 1, got '${v}'`, 'TSNORM_USAGE');
  return x;
}

function oneOf<T extends string>(v: string, choices: readonly T[], flag: string): T {
  const found = choices.find((c) => c === v);
  if (found === undefined) throw new TsnormError(`${flag}: expected one of ${choices.join(', ')}, got '${v}'`, 'TSNORM_USAGE');
  return found;
}

function names(v: string | undefined, flag: string): string[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(',').map((s) => s.trim());
  if (list.some((s) => s === '')) throw new TsnormError(`${flag}: expected comma-separated column names, got '${v}'`, 'TSNORM_USAGE');
  return list;
}

/** --types a=int64,b=utf8: a type per column name, each named once. */
function columnTypes(v: string | undefined): ReadonlyMap<string, PassType> | undefined {
  if (v === undefined) return undefined;
  const types = new Map<string, PassType>();
  for (const item of v.split(',')) {
    const at = item.lastIndexOf('=');
    const name = item.slice(0, at).trim();
    if (at < 0 || name === '') throw new TsnormError(`--types: expected COLUMN=TYPE[,COLUMN=TYPE...], got '${item.trim()}'`, 'TSNORM_USAGE');
    if (types.has(name)) throw new TsnormError(`--types: column '${name}' is named twice`, 'TSNORM_USAGE');
    types.set(name, oneOf(item.slice(at + 1).trim(), PASS_TYPES, `--types ${name}`));
  }
  return types;
}

function delimiter(v: string | undefined, flag: string): string | undefined {
  if (v === undefined) return undefined;
  const d = ({ '\\t': '\t', tab: '\t', comma: ',', semicolon: ';', space: ' ', pipe: '|' } as Record<string, string>)[v] ?? v;
  // One ASCII byte that cannot be part of a number, a quote or a line break.
  if (d.length !== 1 || d.charCodeAt(0) > 0x7e || /[0-9.+\-eE"\n\r\0]/.test(d) || (d < ' ' && d !== '\t')) {
    throw new TsnormError(`${flag}: expected one ASCII character that cannot be part of a number (',', ';', '|', tab, ...), got '${v}'`, 'TSNORM_USAGE');
  }
  return d;
}

function resolveTable(raw: RawOptions): TableOptions {
  const layout = oneOf(raw.layout ?? 'long', choicesOf<'long' | 'wide' | 'list'>('layout'), '--layout');
  const outputLayout = raw.outputLayout === undefined ? undefined : oneOf(raw.outputLayout, choicesOf<'long' | 'list'>('output-layout'), '--output-layout');
  const numChannels = raw.numChannels === undefined ? undefined : positiveInteger(raw.numChannels, '--num-channels');
  if (numChannels !== undefined && layout !== 'wide') throw new TsnormError('--num-channels goes with --layout wide', 'TSNORM_USAGE');
  if (layout === 'wide' && (raw.id !== undefined || raw.channels !== undefined))
    throw new TsnormError('--layout wide: rows are series; --id and --channels are for the long layout', 'TSNORM_USAGE');
  if (layout === 'wide' && raw.types !== undefined)
    throw new TsnormError('--types goes with the long layout (--layout wide passes no column through)', 'TSNORM_USAGE');
  const precision = raw.precision === undefined ? undefined : positiveInteger(raw.precision, '--precision');
  if (precision !== undefined && precision > 17)
    throw new TsnormError('--precision: at most 17 significant digits (17 already round-trips every float64)', 'TSNORM_USAGE');
  return {
    layout,
    outputLayout,
    id: raw.id,
    channels: names(raw.channels, '--channels'),
    keep: names(raw.keep, '--keep'),
    types: columnTypes(raw.types),
    numChannels,
    delimiter: delimiter(raw.delimiter, '--delimiter'),
    outputDelimiter: delimiter(raw.outputDelimiter, '--output-delimiter'),
    header: raw.header !== false,
    precision,
  };
}

/** How to read inputs, for commands that only read (inspect, check): format, layout, dialect. */
export function resolveReading(inputs: readonly string[], raw: RawOptions): ReadingPlan {
  if (inputs.filter((p) => p === '-').length > 1) throw new TsnormError('stdin (-) can be read only once', 'TSNORM_USAGE');
  return {
    format: raw.from === undefined ? undefined : parseFormat(raw.from, '--from'),
    budget: raw.budget === undefined ? undefined : positiveInteger(raw.budget, '--budget'),
    table: resolveTable(raw),
    formatFlags: givenFormatFlags(raw as Record<string, unknown>).filter((f) => f.side === 'input'),
  };
}

/** The flags of `tsnorm check`, checked. */
export interface CheckFlags {
  allowNan?: boolean;
  allowConstant?: boolean;
  minLength?: string;
  maxZ?: string;
  maxStdRatio?: string;
  oneInstance?: boolean;
  maxKs?: string;
  maxPsi?: string;
  maxWasserstein?: string;
  minValues?: string;
  format?: string;
  report?: string[];
}

export interface CheckPlan {
  /** The stats file, loaded when the check runs: one that cannot be read is a failing entry of the reports. */
  readonly statsFile: string;
  readonly loadStats: () => LoadedParams;
  readonly limits: CheckLimits;
  /** The report on stdout. */
  readonly format: ReportFormat;
  /** More reports, each to its file (--report FORMAT=FILE). */
  readonly reports: readonly { format: ReportFormat; path: string }[];
}

export function resolveCheck(inputs: readonly string[], raw: RawOptions & CheckFlags): CheckPlan {
  if (raw.stats === undefined) throw new TsnormError('check needs --stats FILE (the fitted reference to check the data against)', 'TSNORM_USAGE');
  const statsFile = raw.stats;
  const loadStats = (): LoadedParams => {
    const stats = loadParams(statsFile, { ...(raw.statsKey === undefined ? {} : { key: raw.statsKey }), purpose: 'stats' });
    if (!stats.runningMean || !stats.runningVar) throw new TsnormError(`${statsFile}: expected "running_mean" and "running_var"`, 'TSNORM_USAGE');
    return stats;
  };
  const positive = (v: string, flag: string, min = 0): number => {
    const x = Number(v);
    if (!/^\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v) || !(x > min)) throw new TsnormError(`${flag}: expected a number above ${min}, got '${v}'`, 'TSNORM_USAGE');
    return x;
  };
  const reports = (raw.report ?? []).map((spec) => {
    const m = /^([a-z]+)=(.+)$/.exec(spec);
    if (!m) throw new TsnormError(`--report: expected FORMAT=FILE (${REPORT_FORMATS.join(', ')}), got '${spec}'`, 'TSNORM_USAGE');
    const path = m[2]!;
    if (path === '-') throw new TsnormError(`--report ${spec}: stdout has the --format report; name a file`, 'TSNORM_USAGE');
    return { format: oneOf(m[1]!, REPORT_FORMATS, '--report'), path };
  });
  // A report over an input, the stats file or another report would destroy it; stdout is the --format report's.
  checkDistinctFiles([
    ...fileRoles(inputs, raw, undefined),
    { role: 'report', flag: 'the --format report (stdout)', path: '-' },
    ...reports.map((r): FileRole => ({ role: 'report', flag: '--report', path: r.path })),
  ]);
  return {
    statsFile,
    loadStats,
    limits: {
      allowNaN: raw.allowNan === true,
      allowConstant: raw.allowConstant === true,
      minLength: raw.minLength === undefined ? DEFAULT_LIMITS.minLength : positiveInteger(raw.minLength, '--min-length'),
      maxZ: raw.maxZ === undefined ? DEFAULT_LIMITS.maxZ : positive(raw.maxZ, '--max-z'),
      maxStdRatio: raw.maxStdRatio === undefined ? DEFAULT_LIMITS.maxStdRatio : positive(raw.maxStdRatio, '--max-std-ratio', 1),
      oneInstance: raw.oneInstance === true,
      maxKs: raw.maxKs === undefined ? DEFAULT_LIMITS.maxKs : positive(raw.maxKs, '--max-ks'),
      maxPsi: raw.maxPsi === undefined ? DEFAULT_LIMITS.maxPsi : positive(raw.maxPsi, '--max-psi'),
      maxWasserstein: raw.maxWasserstein === undefined ? DEFAULT_LIMITS.maxWasserstein : positive(raw.maxWasserstein, '--max-wasserstein'),
      minValues: raw.minValues === undefined ? DEFAULT_LIMITS.minValues : positiveInteger(raw.minValues, '--min-values'),
    },
    format: oneOf(raw.format ?? 'text', REPORT_FORMATS, '--format'),
    reports,
  };
}
