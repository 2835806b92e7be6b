import { channelStart } from '../core/block.js';
import { ChannelMoments } from '../core/moments.js';
import { ChannelSketches, type Histogram, distributionScores, histogramOf } from '../core/sketch.js';
import type { LoadedParams } from '../core/state-dict.js';
import { TsnormError } from '../errors.js';
import type { DataBlock, Location, SeriesReader } from '../formats/types.js';
import { causeOfFailure, checkInputsUnchanged } from '../io/byte-source.js';
import type { ReadMeter } from '../io/read-meter.js';
import { GroupingWatch, groupingText } from './grouping.js';
import type { ReadingPlan } from './plan.js';
import { openInputReader, readBlocks } from './read-pass.js';

/** The limits `tsnorm check` holds data to (each with its flag). */
export interface CheckLimits {
  /** --allow-nan: missing and infinite values are fine. */
  readonly allowNaN: boolean;
  /** --allow-constant: a flat channel (std 0: a stuck sensor) is fine. */
  readonly allowConstant: boolean;
  /** --min-length: fewest steps an instance may have. */
  readonly minLength: number;
  /** --max-z: how many running standard deviations an instance's channel mean may be from the running mean. */
  readonly maxZ: number;
  /** --max-std-ratio: an instance's channel std must lie within [running std / R, running std * R]. */
  readonly maxStdRatio: number;
  /** --one-instance: a file read without --id is one instance, whatever its columns say. */
  readonly oneInstance: boolean;
  /** --max-ks, --max-psi, --max-wasserstein: how far a channel's distribution in a file may be from the reference's. */
  readonly maxKs: number;
  readonly maxPsi: number;
  readonly maxWasserstein: number;
  /** --min-values: fewest values of a channel in a file for its distribution to be judged. */
  readonly minValues: number;
}

export const DEFAULT_LIMITS: CheckLimits = {
  allowNaN: false,
  allowConstant: false,
  minLength: 2,
  maxZ: 6,
  maxStdRatio: 10,
  oneInstance: false,
  // Evidently's defaults for PSI and the normalized Wasserstein distance, and the sample size
  // from which it judges by distances rather than tests; a KS distance of 0.1 is far beyond what
  // chance gives at that size (its 0.1% critical value is 0.062).
  maxKs: 0.1,
  maxPsi: 0.1,
  maxWasserstein: 0.1,
  minValues: 1000,
};

export const PROBLEM_KINDS = [
  'unreadable',
  'schema',
  'grouping',
  'missing',
  'constant',
  'length',
  'drift-mean',
  'drift-std',
  'drift-ks',
  'drift-psi',
  'drift-wasserstein',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface Problem {
  readonly kind: ProblemKind;
  /** The input as it was named on the command line (stdin: <stdin>). */
  readonly file: string;
  /** The instance: its index in the file, from 0, and its id when the input has ids. */
  readonly instance?: { readonly index: number; readonly id?: string | undefined } | undefined;
  /** How a person's report names the instance ("instance 3 (id 'x', from line 40)"). */
  readonly instanceText?: string | undefined;
  readonly channel?: string | undefined;
  /** Where the value that shows the problem is: its line, row or byte, and column. */
  readonly at?: Location | undefined;
  /** The value that shows it (the mean, the std, the flat value), its reference (running mean or std), the score and its limit. */
  readonly value?: number | undefined;
  readonly reference?: number | undefined;
  readonly score?: number | undefined;
  readonly limit?: number | undefined;
  /** How many values or steps it concerns (missing values, steps of a short instance, changes of a grouping column). */
  readonly count?: number | undefined;
  readonly message: string;
}

/** One channel's scores over a file's instances, for every check, also when they pass. */
export interface ChannelSummary {
  readonly name: string;
  /** Instances in which it was checked, and its finite values in them. */
  instances: number;
  values: number;
  /** Missing or infinite values, and instances where it is flat. */
  missing: number;
  flat: number;
  /** The largest |mean - running mean| / running std over its instances, and where (null: none measured). */
  maxZ: number | null;
  maxZInstance: number | null;
  /** The smallest and largest std / running std over its instances (null: none measured). */
  minStdRatio: number | null;
  maxStdRatio: number | null;
  /** Whether the reference's sketch resolves the channel (see ValueSketch.resolves); null without a sketch. */
  resolved: boolean | null;
  /** Its distribution in the file against the reference's (null: no sketch, not resolved, or no value). */
  ks: number | null;
  psi: number | null;
  wasserstein: number | null;
}

export interface FileResult {
  readonly file: string;
  /** Why it could not be read to the end, when it could not (its problems so far are kept). */
  error?: string | undefined;
  /** Its problems, all counted (listed or not). */
  problems: number;
  instances: number;
  channels: ChannelSummary[];
  /** Per channel, its values against the reference's, for a person's report (html). */
  histograms?: (Histogram | undefined)[];
}

export interface CheckReport {
  readonly files: readonly FileResult[];
  readonly instances: number;
  /** The first problems (LISTED), in the order found. */
  readonly problems: readonly Problem[];
  /** Problems of each kind, all counted. */
  readonly counts: Readonly<Record<ProblemKind, number>>;
  readonly limits: CheckLimits;
}

/** Problems listed in full (the counts cover them all). */
export const LISTED = 100;

export interface CheckOptions {
  readonly reading: ReadingPlan;
  /** --id was given: instances are named by the data, and no grouping check is needed. */
  readonly grouped: boolean;
  readonly meter?: ReadMeter | undefined;
}

/**
 * Checks inputs against a fitted reference, streaming, one pass and flat memory: per instance
 * and channel, missing or infinite values, flat channels, length, and drift of the mean and of
 * the spread from the running statistics; per file, a column that says a file read as one
 * instance holds several. An input that cannot be read is a problem of its own (kind
 * 'unreadable'), and the other inputs are still checked.
 */
export async function checkInputs(files: readonly string[], stats: LoadedParams, limits: CheckLimits, options: CheckOptions): Promise<CheckReport> {
  const reference = stats.sketch && ChannelSketches.fromJSON(stats.sketch);
  const problems: Problem[] = [];
  const counts = Object.fromEntries(PROBLEM_KINDS.map((k) => [k, 0])) as Record<ProblemKind, number>;
  const report = (p: Problem): void => {
    counts[p.kind]++;
    if (problems.length < LISTED) problems.push(p);
  };
  const results: FileResult[] = [];
  for (const file of files) {
    const result: FileResult = { file: file === '-' ? '<stdin>' : file, instances: 0, channels: [], problems: 0 };
    results.push(result);
    const reportHere = (p: Problem): void => {
      result.problems++;
      report(p);
    };
    try {
      await checkFile(file, stats, reference, limits, options, reportHere, result);
    } catch (err) {
      const cause = causeOfFailure(err);
      if (!(cause instanceof TsnormError)) throw cause;
      result.error = cause.message;
      reportHere({ kind: 'unreadable', file: result.file, message: withoutFile(cause.message, result.file) });
    }
  }
  return { files: results, instances: results.reduce((n, r) => n + r.instances, 0), problems, counts, limits };
}

/** The report of a check whose stats file could not be read: that file, unreadable, and nothing checked. */
export function unreadableStats(statsFile: string, message: string, limits: CheckLimits): CheckReport {
  const counts = Object.fromEntries(PROBLEM_KINDS.map((k) => [k, k === 'unreadable' ? 1 : 0])) as Record<ProblemKind, number>;
  return {
    files: [{ file: statsFile, error: message, instances: 0, channels: [], problems: 1 }],
    instances: 0,
    problems: [{ kind: 'unreadable', file: statsFile, message: withoutFile(message, statsFile) }],
    counts,
    limits,
  };
}

/** An error's message without the file name it starts with (a report names the file already). */
function withoutFile(message: string, file: string): string {
  return message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
}

async function checkFile(
  file: string,
  stats: LoadedParams,
  reference: ChannelSketches | undefined,
  limits: CheckLimits,
  options: CheckOptions,
  report: (p: Problem) => void,
  result: FileResult,
): Promise<void> {
  const { reading, meter } = options;
  const { reader } = await openInputReader(file, reading, { live: true, meter });
  try {
    const { schema } = reader;
    const C = schema.channels;
    // Channels without names (NPY) take the stats file's, when it has as many.
    const names = schema.channelNames ?? (stats.channels?.length === C ? stats.channels : Array.from({ length: C }, (_, c) => `c${c}`));
    const runningMean = stats.runningMean ?? [];
    const runningStd = (stats.runningVar ?? []).map((v) => Math.sqrt(v));
    if (!schemaMatches(reader, names, stats, report)) return;
    const summaries: ChannelSummary[] = names.map((name) => ({
      name,
      instances: 0,
      values: 0,
      missing: 0,
      flat: 0,
      maxZ: null,
      maxZInstance: null,
      minStdRatio: null,
      maxStdRatio: null,
      resolved: null,
      ks: null,
      psi: null,
      wasserstein: null,
    }));
    const incoming = new ChannelSketches(C);
    result.channels = summaries;
    const grouping = !options.grouped && !limits.oneInstance && schema.orientation === 'rows' ? new GroupingWatch(schema) : undefined;
    const moments = new ChannelMoments(C);
    const bad = new Float64Array(C);
    /** Where each channel's first missing value is, and where its series begins. */
    const firstBad: (Location | undefined)[] = new Array<Location | undefined>(C);
    const startAt: (Location | undefined)[] = new Array<Location | undefined>(C);
    let start: Location | undefined;
    let current = -1;
    let steps = 0;
    const finish = (): void => {
      if (current < 0) return;
      result.instances++;
      const id = schema.instanceId?.(current);
      const where = {
        file: result.file,
        instance: { index: current, ...(id === undefined ? {} : { id }) },
        instanceText: schema.describeInstance?.(current) ?? `instance ${current}`,
      };
      if (steps < limits.minLength) {
        report({
          kind: 'length',
          ...where,
          at: start,
          count: steps,
          limit: limits.minLength,
          message: `${steps} step${steps === 1 ? '' : 's'}, fewer than ${limits.minLength} (--min-length)`,
        });
      }
      for (let c = 0; c < C; c++) {
        const channel = names[c]!;
        const s = summaries[c]!;
        s.instances++;
        s.missing += bad[c]!;
        if (bad[c]! > 0 && !limits.allowNaN) {
          report({
            kind: 'missing',
            ...where,
            channel,
            at: firstBad[c],
            count: bad[c]!,
            message: `${bad[c]} missing or infinite value${bad[c] === 1 ? '' : 's'} (--allow-nan to accept)`,
          });
        }
        const n = moments.count[c]!;
        s.values += n;
        if (n < 2) continue;
        const mean = moments.mean(c);
        const std = moments.std(c);
        const at = startAt[c];
        if (std === 0) {
          s.flat++;
          if (!limits.allowConstant)
            report({
              kind: 'constant',
              ...where,
              channel,
              at,
              value: mean,
              message: `flat: every value is ${mean} (a stuck sensor? --allow-constant to accept)`,
            });
          continue;
        }
        const z = Math.abs(mean - runningMean[c]!) / runningStd[c]!;
        if (s.maxZ === null || z > s.maxZ) {
          s.maxZ = z;
          s.maxZInstance = current;
        }
        if (z > limits.maxZ) {
          report({
            kind: 'drift-mean',
            ...where,
            channel,
            at,
            value: mean,
            reference: runningMean[c]!,
            score: z,
            limit: limits.maxZ,
            message: `mean ${fmt(mean)} is ${fmt(z)} running standard deviations from the running mean ${fmt(runningMean[c]!)} (--max-z ${limits.maxZ})`,
          });
        }
        const ratio = std / runningStd[c]!;
        s.minStdRatio = s.minStdRatio === null ? ratio : Math.min(s.minStdRatio, ratio);
        s.maxStdRatio = s.maxStdRatio === null ? ratio : Math.max(s.maxStdRatio, ratio);
        if (ratio > limits.maxStdRatio || ratio < 1 / limits.maxStdRatio) {
          report({
            kind: 'drift-std',
            ...where,
            channel,
            at,
            value: std,
            reference: runningStd[c]!,
            score: ratio,
            limit: limits.maxStdRatio,
            message: `std ${fmt(std)} is ${fmt(ratio)} times the running std ${fmt(runningStd[c]!)} (--max-std-ratio ${limits.maxStdRatio})`,
          });
        }
      }
    };
    const finite = new Float64Array(1024);
    const begin = (b: DataBlock): void => {
      current = b.instance;
      moments.reset();
      bad.fill(0);
      firstBad.fill(undefined);
      startAt.fill(undefined);
      const first = reader.locate(b, b.firstChannel, b.firstStep);
      // Where the instance begins: its row, line or byte (a column says nothing about it).
      start = { ...first, column: undefined, channel: undefined, element: undefined };
    };
    const see = (b: DataBlock): void => {
      grouping?.see(b, (blk, c, t) => reader.locate(blk, c, t));
      for (let c = b.firstChannel; c < b.firstChannel + b.channelCount; c++) {
        startAt[c] ??= reader.locate(b, c, b.firstStep);
        const from = channelStart(b, c);
        incoming.channels[c]!.add(b.values, from, b.stepCount, b.stepStride);
        let n = 0;
        for (let t = 0; t < b.stepCount; t++) {
          const x = b.values[from + t * b.stepStride]!;
          if (x !== x || x === Infinity || x === -Infinity) {
            if (bad[c] === 0) firstBad[c] = reader.locate(b, c, b.firstStep + t);
            bad[c]!++;
            continue;
          }
          finite[n++] = x;
          if (n === finite.length) {
            moments.add(c, finite, 0, n, 1);
            n = 0;
          }
        }
        if (n > 0) moments.add(c, finite, 0, n, 1);
      }
    };
    await readBlocks(reader, {
      instanceStart: begin,
      block: see,
      instanceEnd(_instance, instanceSteps) {
        steps = instanceSteps;
        finish();
      },
    });
    // Instances of no step have no block to see: an (N, C, 0) array is N instances too short.
    if (current < 0 && schema.steps === 0 && (schema.instances ?? 0) > 0) {
      for (let i = 0; i < schema.instances!; i++) {
        result.instances++;
        report({
          kind: 'length',
          file: result.file,
          instance: { index: i },
          instanceText: schema.describeInstance?.(i) ?? `instance ${i}`,
          count: 0,
          limit: limits.minLength,
          message: `0 steps, fewer than ${limits.minLength} (--min-length)`,
        });
      }
    }
    checkInputsUnchanged();
    if (reference) judgeDistributions(reference, incoming, summaries, limits, result.file, report);
    result.histograms = incoming.channels.map((s, c) => histogramOf(reference?.channels[c], s));
    const hint = grouping?.hint();
    if (hint && result.instances === 1) {
      report({
        kind: 'grouping',
        file: result.file,
        at: hint.at,
        count: hint.changes,
        message: `${groupingText(hint)}, so its rows look like several instances: --id ${hint.column}? (--one-instance if the file is one instance)`,
      });
    }
  } finally {
    await reader.close();
  }
}

/**
 * Each channel's distribution over the file against the reference's: the scores always (in the
 * summary), a problem for each limit broken when the file has enough of the channel's values.
 */
function judgeDistributions(
  reference: ChannelSketches,
  incoming: ChannelSketches,
  summaries: ChannelSummary[],
  limits: CheckLimits,
  file: string,
  report: (p: Problem) => void,
): void {
  summaries.forEach((s, c) => {
    s.resolved = reference.channels[c]!.resolves;
    if (!s.resolved) return;
    const scores = distributionScores(reference.channels[c]!, incoming.channels[c]!);
    if (!scores) return;
    s.ks = scores.ks;
    s.psi = scores.psi;
    s.wasserstein = scores.wasserstein;
    const n = incoming.channels[c]!.count;
    if (n < limits.minValues) return;
    const tests = [
      { kind: 'drift-ks', score: scores.ks, limit: limits.maxKs, what: 'KS distance', flag: '--max-ks' },
      { kind: 'drift-psi', score: scores.psi, limit: limits.maxPsi, what: 'PSI', flag: '--max-psi' },
      {
        kind: 'drift-wasserstein',
        score: scores.wasserstein,
        limit: limits.maxWasserstein,
        what: 'Wasserstein distance (in reference stds)',
        flag: '--max-wasserstein',
      },
    ] as const;
    for (const t of tests) {
      if (!(t.score > t.limit)) continue;
      report({
        kind: t.kind,
        file,
        channel: s.name,
        score: t.score,
        limit: t.limit,
        count: n,
        message: `its distribution over ${n} values is ${fmt(t.score)} from the reference's by ${t.what} (${t.flag} ${t.limit})`,
      });
    }
  });
}

/** Whether the input's channels are the stats file's; each difference a schema problem. */
function schemaMatches(reader: SeriesReader, names: readonly string[], stats: LoadedParams, report: (p: Problem) => void): boolean {
  const file = reader.name;
  const expected = stats.runningMean?.length ?? 0;
  const theirs = stats.channels;
  if (theirs && reader.schema.channelNames) {
    const ours = reader.schema.channelNames;
    const missing = theirs.filter((c) => !ours.includes(c));
    const extra = ours.filter((c) => !theirs.includes(c));
    for (const channel of missing) report({ kind: 'schema', file, channel, message: `no channel '${channel}', which the stats file has` });
    for (const channel of extra) report({ kind: 'schema', file, channel, message: `channel '${channel}' is not in the stats file` });
    if (missing.length > 0 || extra.length > 0) return false;
    if (ours.join('\u0000') !== theirs.join('\u0000')) {
      report({ kind: 'schema', file, message: `channels [${ours.join(', ')}] are the stats file's in another order: [${theirs.join(', ')}]` });
      return false;
    }
  }
  if (names.length !== expected) {
    report({ kind: 'schema', file, count: names.length, limit: expected, message: `${names.length} channels, the stats file has ${expected}` });
    return false;
  }
  return true;
}

/** A score or value as the reports print it: an integer whole, else four significant digits. */
export function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}

/** A score that may not have been measured: empty when not. */
export const scoreText = (x: number | null): string => (x === null ? '' : fmt(x));

/** "1 instance", "2 instances". */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
