import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import type { NanPolicy } from '../core/engine.js';
import type { Momentum } from '../core/running-stats.js';
import { TsnormError } from '../errors.js';
import { FORMATS, formatFromPath } from '../formats/detect.js';
import type { OutputCodec, PassType, TableOptions } from '../formats/format.js';
import type { FormatName } from '../formats/types.js';
import { type FileRole, checkDistinctFiles } from '../io/same-file.js';
import { type CheckLimits, DEFAULT_LIMITS } from '../pipeline/check.js';
import { REPORT_FORMATS, type ReportFormat } from '../pipeline/check-reports.js';
import { DEFAULT_EPS, DEFAULT_MOMENTUM, type Plan, type ReadingPlan } from '../pipeline/plan.js';
import { flagValue, givenFormatFlags } from './flags.js';
import { oneOf } from './parsers.js';
import type { LoadedParams } from '../core/state-dict.js';
import { loadParams } from '../stats-file.js';
import { type Dataset, expandInputs } from '../pipeline/dataset.js';

/**
 * The options commander hands over, keyed as `optionKey` names them. The values a flag's parser
 * turns into numbers, lists or choices are read with `flagValue`; the ones typed here are read as
 * given (file names and switches).
 */
export interface RawOptions {
  readonly [key: string]: unknown;
  output?: string;
  /** A file, or false for --no-affine. */
  affine?: string | false;
  trackRunningStats?: boolean;
  stats?: string;
  statsKey?: string;
  saveStats?: string;
  eval?: boolean;
  id?: string;
  types?: string;
  momentum?: string;
  eps?: string;
  nan?: string;
  batchSize?: string;
  channels?: string;
  /** false for --no-header. */
  header?: boolean;
  /** --copy-others: files of a folder input that are not data, copied to the output folder. */
  copyOthers?: boolean;
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
  const dataset = expandInputs(inputs.length > 0 ? inputs : ['-']);
  const paths = dataset.files.map((f) => f.path);
  if (paths.filter((p) => p === '-').length > 1) throw new TsnormError('stdin (-) can be read only once', 'TSNORM_USAGE');
  const givenEps = flagValue<number>(raw, 'eps');
  const givenMomentum = flagValue<Momentum>(raw, 'momentum');
  const givenBatch = flagValue<number>(raw, 'batch-size');
  const budget = flagValue<number>(raw, 'budget');
  const nan = flagValue<NanPolicy>(raw, 'nan') ?? 'propagate';
  const dtype = flagValue<'float32' | 'float64'>(raw, 'dtype');
  const from = flagValue<FormatName>(raw, 'from');
  const to = flagValue<FormatName>(raw, 'to');

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
  const folder = outputPath !== undefined && outputFolder(dataset, outputPath);
  if (raw.copyOthers === true && !folder)
    throw new TsnormError('--copy-others copies the files a folder input holds beside its data into the output folder: there is none', 'TSNORM_USAGE');
  checkDistinctFiles(fileRoles(paths, raw, folder ? undefined : outputPath));
  if (raw.saveStats !== undefined) checkStatsPath(raw.saveStats, '--save-stats');
  const output = outputPath === undefined ? undefined : { path: outputPath, format: to ?? (folder ? undefined : outputFormatOf(outputPath)), dtype, folder };

  const table = resolveTable(raw);
  return {
    command,
    table,
    formatFlags: givenFormatFlags(raw as Record<string, unknown>),
    holdBytes: flagValue<number>(raw, 'spill-bytes'),
    compression: flagValue<OutputCodec>(raw, 'compression'),
    rowGroupSize: flagValue<number>(raw, 'row-group-size'),
    threads: flagValue<number>(raw, 'threads') ?? os.availableParallelism(),
    offThreadAfter: flagValue<number>(raw, 'off-thread-after'),
    inputs: dataset.files.map((f) => ({ path: f.path, format: from, relative: f.relative })),
    others: dataset.others,
    copyOthers: raw.copyOthers === true,
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

/**
 * A stats file is JSON whatever its name; a name whose extension names a data format is a slip
 * (the data's output given where the stats go), refused before anything is written.
 */
export function checkStatsPath(file: string, flag: string): void {
  const format = formatFromPath(file);
  if (format === undefined) return;
  throw new TsnormError(`${flag} ${file}: a stats file is JSON, and this name says ${format.toUpperCase()}; name it .json`, 'TSNORM_USAGE');
}

/**
 * Whether the output is a folder, an output per input under the same relative paths: so when
 * the inputs are a folder, a glob or several files; then -o must name a folder that is not one
 * of the inputs' (nor inside one, nor holding one). A folder named for one file's output is
 * refused, as is stdout for several.
 */
function outputFolder(dataset: Dataset, output: string): boolean {
  const isFolder = output !== '-' && (output.endsWith('/') || isDirectory(output));
  if (!dataset.many) {
    if (isFolder)
      throw new TsnormError(
        `-o ${output} is a folder, and the input is one file: name the output file (${path.join(output, dataset.files[0]?.relative ?? 'out')})`,
        'TSNORM_USAGE',
      );
    return false;
  }
  const what = `${dataset.files.length} input file${dataset.files.length === 1 ? '' : 's'}`;
  if (output === '-') throw new TsnormError(`${what}: each gets an output of its own; give -o FOLDER`, 'TSNORM_USAGE');
  if (!isFolder && (fs.existsSync(output) || formatFromPath(output) !== undefined))
    throw new TsnormError(`-o ${output} names a file; ${what} need an output folder (-o FOLDER/)`, 'TSNORM_USAGE');
  if (dataset.files.some((f) => f.path === '-'))
    throw new TsnormError('stdin (-) has no name to write its output under in a folder: give it as a file', 'TSNORM_USAGE');
  const out = path.resolve(output);
  for (const root of dataset.roots) {
    const inside = (a: string, b: string) => a === b || a.startsWith(b.endsWith(path.sep) ? b : b + path.sep);
    const r = path.resolve(root);
    if (inside(out, r) || inside(r, out))
      throw new TsnormError(
        `-o ${output} and the input folder ${root} overlap: outputs would be written among the inputs (and read as inputs next time); choose a folder outside it`,
        'TSNORM_USAGE',
      );
  }
  // Two inputs with the same relative path (a.csv from two folders) would write one output.
  const seen = new Map<string, string>();
  for (const f of dataset.files) {
    const other = seen.get(f.relative);
    if (other !== undefined) throw new TsnormError(`${other} and ${f.path} would both be written to ${path.join(output, f.relative)}`, 'TSNORM_USAGE');
    seen.set(f.relative, f.path);
  }
  return true;
}

/** Whether a path is a folder; a path that cannot be looked at (a loop, a name too long) is not, and opening it says why. */
function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function fileRoles(inputs: readonly string[], raw: RawOptions, output: string | undefined): FileRole[] {
  const roles: FileRole[] = inputs.map((p) => ({ role: 'input', flag: 'INPUT', path: p }));
  if (output !== undefined) roles.push({ role: 'output', flag: '-o', path: output });
  if (raw.stats !== undefined) roles.push({ role: 'stats', flag: '--stats', path: raw.stats });
  if (typeof raw.affine === 'string') roles.push({ role: 'affine', flag: '--affine', path: raw.affine });
  if (raw.saveStats !== undefined) roles.push({ role: 'save-stats', flag: '--save-stats', path: raw.saveStats });
  return roles;
}

function resolveTable(raw: RawOptions): TableOptions {
  const layout = flagValue<'long' | 'wide' | 'list'>(raw, 'layout') ?? 'long';
  const outputLayout = flagValue<'long' | 'list'>(raw, 'output-layout');
  const numChannels = flagValue<number>(raw, 'num-channels');
  if (numChannels !== undefined && layout !== 'wide') throw new TsnormError('--num-channels goes with --layout wide', 'TSNORM_USAGE');
  if (layout === 'wide' && (raw.id !== undefined || raw.channels !== undefined))
    throw new TsnormError('--layout wide: rows are series; --id and --channels are for the long layout', 'TSNORM_USAGE');
  if (layout === 'wide' && raw.types !== undefined)
    throw new TsnormError('--types goes with the long layout (--layout wide passes no column through)', 'TSNORM_USAGE');
  return {
    layout,
    outputLayout,
    id: raw.id,
    channels: flagValue<string[]>(raw, 'channels'),
    keep: flagValue<string[]>(raw, 'keep'),
    types: flagValue<ReadonlyMap<string, PassType>>(raw, 'types'),
    numChannels,
    delimiter: flagValue<string>(raw, 'delimiter'),
    outputDelimiter: flagValue<string>(raw, 'output-delimiter'),
    header: raw.header !== false,
    precision: flagValue<number>(raw, 'precision'),
  };
}

/** How to read inputs, for commands that only read (inspect, check): format, layout, dialect. */
export function resolveReading(inputs: readonly string[], raw: RawOptions): ReadingPlan {
  if (inputs.filter((p) => p === '-').length > 1) throw new TsnormError('stdin (-) can be read only once', 'TSNORM_USAGE');
  return {
    format: flagValue<FormatName>(raw, 'from'),
    budget: flagValue<number>(raw, 'budget'),
    table: resolveTable(raw),
    formatFlags: givenFormatFlags(raw as Record<string, unknown>).filter((f) => f.side === 'input'),
  };
}

/** The flags of `tsnorm check`, checked. */
export interface CheckFlags {
  allowNan?: boolean;
  allowConstant?: boolean;
  oneInstance?: boolean;
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
      minLength: flagValue<number>(raw, 'min-length') ?? DEFAULT_LIMITS.minLength,
      maxZ: flagValue<number>(raw, 'max-z') ?? DEFAULT_LIMITS.maxZ,
      maxStdRatio: flagValue<number>(raw, 'max-std-ratio') ?? DEFAULT_LIMITS.maxStdRatio,
      oneInstance: raw.oneInstance === true,
      maxKs: flagValue<number>(raw, 'max-ks') ?? DEFAULT_LIMITS.maxKs,
      maxPsi: flagValue<number>(raw, 'max-psi') ?? DEFAULT_LIMITS.maxPsi,
      maxWasserstein: flagValue<number>(raw, 'max-wasserstein') ?? DEFAULT_LIMITS.maxWasserstein,
      minValues: flagValue<number>(raw, 'min-values') ?? DEFAULT_LIMITS.minValues,
    },
    format: flagValue<ReportFormat>(raw, 'format') ?? 'text',
    reports,
  };
}
