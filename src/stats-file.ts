import fs from 'node:fs';
import type { Momentum, RunningState } from './core/running-stats.js';
import type { NanPolicy } from './core/engine.js';
import type { SketchJson } from './core/sketch.js';
import { type LoadParamsOptions, type LoadedParams, paramsOf } from './core/state-dict.js';
import { TsnormError } from './errors.js';
import { ioError } from './io/byte-source.js';
import { findJsonSyntaxError } from './json-syntax.js';

/**
 * The stats file (SPEC.md, Files): running statistics under torch's state_dict names, so that
 * torch can load it, plus what tsnorm needs to apply it again (eps, momentum, channel names).
 */
export interface StatsFile {
  format: 'tsnorm-stats';
  version: 1;
  num_features: number;
  channels?: string[];
  eps: number;
  momentum: Momentum;
  running_mean: number[];
  running_var: number[];
  num_batches_tracked: number;
  /**
   * Per channel, the updates running_mean and running_var received, when some channel missed
   * some (--nan ignore with series that had no values): `cumulative` continues from these.
   */
  mean_updates?: number[];
  var_updates?: number[];
  /**
   * Where the fit started (the defaults 0 and 1, or the --stats it continued): what `stats
   * merge` needs to put this fit after another. Not in torch's state_dict: torch ignores them.
   */
  start_mean?: number[];
  start_var?: number[];
  start_num_batches_tracked?: number;
  start_mean_updates?: number[];
  start_var_updates?: number[];
  weight?: number[];
  bias?: number[];
  /**
   * The fitted values' distribution per channel, for `check` (see core/sketch.ts), and the one
   * the fit started from when it continued another (what `stats merge` takes away).
   */
  sketch?: SketchJson;
  start_sketch?: SketchJson;
}

/** The stats file of running statistics: their end state, and the state they started from. */
export function statsFileOf(o: {
  readonly channels: number;
  readonly names?: readonly string[] | undefined;
  readonly eps: number;
  readonly momentum: Momentum;
  readonly end: RunningState;
  readonly start?: RunningState | undefined;
  readonly affine?: { readonly weight: ArrayLike<number>; readonly bias: ArrayLike<number> } | undefined;
  readonly sketch?: SketchJson | undefined;
  readonly startSketch?: SketchJson | undefined;
}): StatsFile {
  const { end, start } = o;
  // Per-channel counts only where a channel missed updates (--nan ignore): else they are num_batches_tracked.
  const counts = (s: RunningState) => s.meanUpdates.every((k) => k === s.numBatchesTracked) && s.varUpdates.every((k) => k === s.numBatchesTracked);
  return {
    format: 'tsnorm-stats',
    version: 1,
    num_features: o.channels,
    ...(o.names ? { channels: [...o.names] } : {}),
    eps: o.eps,
    momentum: o.momentum,
    running_mean: Array.from(end.mean),
    running_var: Array.from(end.var),
    num_batches_tracked: end.numBatchesTracked,
    ...(counts(end) ? {} : { mean_updates: Array.from(end.meanUpdates), var_updates: Array.from(end.varUpdates) }),
    ...(start
      ? {
          start_mean: Array.from(start.mean),
          start_var: Array.from(start.var),
          start_num_batches_tracked: start.numBatchesTracked,
          ...(counts(start) ? {} : { start_mean_updates: Array.from(start.meanUpdates), start_var_updates: Array.from(start.varUpdates) }),
        }
      : {}),
    ...(o.affine ? { weight: Array.from(o.affine.weight), bias: Array.from(o.affine.bias) } : {}),
    ...(o.sketch ? { sketch: o.sketch } : {}),
    ...(o.startSketch ? { start_sketch: o.startSketch } : {}),
  };
}

/** Why channel c's running statistics are not finite, and what to do about it. */
function whyNotFinite(s: StatsFile, c: number, nan: NanPolicy | undefined): string {
  const channel = `channel '${s.channels?.[c] ?? `c${c}`}'`;
  const [mean, variance] = [s.running_mean[c]!, s.running_var[c]!];
  if (!Number.isFinite(mean) || Number.isNaN(variance)) {
    // --nan ignore leaves missing values out: what is left is an infinite one.
    return nan === 'ignore'
      ? `the running statistics of ${channel} are not finite: the input has infinite values, which --nan ignore does not leave out`
      : `the running statistics of ${channel} are not finite: the input has missing or infinite values (--nan ignore leaves the missing ones out)`;
  }
  return `the running variance of ${channel} is beyond float64's range (the values spread by more than about 1e154)`;
}

/** Largest stats or affine file read: far above any real one, and checked before reading. */
export const MAX_PARAMS_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a tsnorm stats file, a {running_mean, running_var} file, a torch state_dict as JSON
 * (keys prefixed or not), or an affine file, checking that its values are numbers and that its
 * sizes agree with each other.
 */
export function loadParams(file: string, options: LoadParamsOptions = {}): LoadedParams {
  // A byte order mark is no part of JSON, but editors on Windows save one: it is skipped.
  const text = readParamsFile(file).replace(/^\uFEFF/, '');
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    const at = findJsonSyntaxError(text);
    if (at === undefined) throw new TsnormError(`${file}: not valid JSON`, 'TSNORM_PARAMS');
    if (text.trim() === '') throw new TsnormError(`${file}: not valid JSON: ${at.what}`, 'TSNORM_PARAMS');
    throw new TsnormError(`${file}: not valid JSON: line ${at.line}, column ${at.column}: ${at.what}`, 'TSNORM_PARAMS');
  }
  return paramsOf(obj, file, options);
}

/**
 * The file's text. Only a regular file is read, and only up to the cap: /dev/zero, a FIFO or a
 * huge file would otherwise be read into memory whole (or wait forever for a writer).
 */
function readParamsFile(file: string): string {
  let fd: number;
  try {
    // Non-blocking, so that opening a FIFO does not wait for a writer before it can be refused.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'EISDIR' ? new TsnormError(`${file}: is a directory, expected a JSON file`, 'TSNORM_PARAMS') : ioError(file, err);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new TsnormError(`${file}: is ${fileKind(st)}, expected a JSON file`, 'TSNORM_PARAMS');
    if (st.size > MAX_PARAMS_FILE_BYTES) throw tooLarge(file, st.size);
    // Read to the end rather than trust st.size: some files (in /proc) report 0 and a file may grow.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, MAX_PARAMS_FILE_BYTES + 1 - total));
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > MAX_PARAMS_FILE_BYTES) throw tooLarge(file, total);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    throw ioError(file, err);
  } finally {
    fs.closeSync(fd);
  }
}

function tooLarge(file: string, bytes: number): TsnormError {
  return new TsnormError(`${file}: ${bytes} bytes is too large for a stats or affine file (at most 64 MiB)`, 'TSNORM_PARAMS');
}

function fileKind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The stats file text: JSON with full float64 precision (JS prints the shortest round-trip form).
 * `nan` is the policy the fit ran with, when there was one: a hint names only a flag not given.
 */
export function formatStats(s: StatsFile, file: string, nan?: NanPolicy): string {
  const bad = s.running_mean.findIndex((m, c) => !Number.isFinite(m) || !Number.isFinite(s.running_var[c]!));
  if (bad >= 0) throw new TsnormError(`${file}: not written: ${whyNotFinite(s, bad, nan)}`, 'TSNORM_PARAMS');
  const ordered: Record<string, unknown> = {
    format: s.format,
    version: s.version,
    num_features: s.num_features,
    ...(s.channels ? { channels: s.channels } : {}),
    eps: s.eps,
    momentum: s.momentum,
    running_mean: s.running_mean,
    running_var: s.running_var,
    num_batches_tracked: s.num_batches_tracked,
    ...(s.mean_updates ? { mean_updates: s.mean_updates, var_updates: s.var_updates } : {}),
    ...(s.start_mean ? { start_mean: s.start_mean, start_var: s.start_var, start_num_batches_tracked: s.start_num_batches_tracked } : {}),
    ...(s.start_mean_updates ? { start_mean_updates: s.start_mean_updates, start_var_updates: s.start_var_updates } : {}),
    ...(s.weight ? { weight: s.weight, bias: s.bias } : {}),
  };
  // The sketches last, one line a channel: hundreds of counts each, which one a line would bury the rest under.
  const sketches = (['sketch', 'start_sketch'] as const)
    .filter((k) => s[k])
    .map((k) => {
      const { channels, ...head } = s[k]!;
      return `  "${k}": ${JSON.stringify(head).slice(0, -1)}, "channels": [\n${channels.map((c) => `    ${JSON.stringify(c)}`).join(',\n')}\n  ]}`;
    });
  const text = JSON.stringify(ordered, null, 2);
  return (sketches.length > 0 ? `${text.slice(0, -2)},\n${sketches.join(',\n')}\n}` : text) + '\n';
}
