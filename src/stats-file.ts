import fs from 'node:fs';
import type { Momentum } from './core/running-stats.js';
import { TsnormError } from './errors.js';

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
  weight?: number[];
  bias?: number[];
}

/** What an input stats or affine file held, not yet checked against the data's channel count. */
export interface LoadedParams {
  readonly file: string;
  readonly runningMean?: number[];
  readonly runningVar?: number[];
  readonly numBatchesTracked?: number;
  readonly weight?: number[];
  readonly bias?: number[];
  readonly eps?: number;
  readonly momentum?: Momentum;
  readonly channels?: string[];
}

/** Reads a tsnorm stats file, a {running_mean, running_var} file, a torch state_dict as JSON, or an affine file. */
export function loadParams(file: string): LoadedParams {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TsnormError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a JSON file' : (err as Error).message}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new TsnormError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new TsnormError(`${file}: expected a JSON object`);
  const o = obj as Record<string, unknown>;
  const numbers = (key: string): number[] | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw new TsnormError(`${file}: "${key}" must be an array of numbers`);
    v.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw new TsnormError(`${file}: "${key}"[${i}] is ${JSON.stringify(x)}, expected a finite number`);
      }
    });
    return v as number[];
  };
  const out: { -readonly [K in keyof LoadedParams]: LoadedParams[K] } = { file };
  const runningMean = numbers('running_mean');
  const runningVar = numbers('running_var');
  const weight = numbers('weight');
  const bias = numbers('bias');
  if (runningMean) out.runningMean = runningMean;
  if (runningVar) {
    const neg = runningVar.findIndex((v) => v < 0);
    if (neg >= 0) throw new TsnormError(`${file}: "running_var"[${neg}] is ${runningVar[neg]}, variances must be >= 0`);
    out.runningVar = runningVar;
  }
  if (weight) out.weight = weight;
  if (bias) out.bias = bias;
  const nbt = o['num_batches_tracked'];
  if (nbt !== undefined) {
    if (typeof nbt !== 'number' || !Number.isInteger(nbt) || nbt < 0) throw new TsnormError(`${file}: "num_batches_tracked" must be a whole number >= 0`);
    out.numBatchesTracked = nbt;
  }
  if (o['eps'] !== undefined) out.eps = checkEps(o['eps'], `${file}: "eps"`);
  if (o['momentum'] !== undefined) out.momentum = checkMomentum(o['momentum'] === null ? 'cumulative' : o['momentum'], `${file}: "momentum"`);
  const ch = o['channels'];
  if (ch !== undefined) {
    if (!Array.isArray(ch) || !ch.every((x) => typeof x === 'string')) throw new TsnormError(`${file}: "channels" must be an array of names`);
    out.channels = ch as string[];
  }
  return out;
}

export function checkEps(v: unknown, what: string): number {
  const x = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof x !== 'number' || !Number.isFinite(x) || !(x > 0)) throw new TsnormError(`${what}: expected a positive number, got ${JSON.stringify(v)}`);
  return x;
}

export function checkMomentum(v: unknown, what: string): Momentum {
  if (v === 'cumulative') return v;
  const x = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof x !== 'number' || !(x >= 0 && x <= 1)) throw new TsnormError(`${what}: expected a number in [0, 1] or "cumulative", got ${JSON.stringify(v)}`);
  return x;
}

/** Checks that a parameter array has one entry per channel. */
export function perChannel(values: number[] | undefined, key: string, channels: number, file: string): Float64Array {
  if (!values) throw new TsnormError(`${file}: has no "${key}"`);
  if (values.length !== channels) {
    throw new TsnormError(`${file}: "${key}" has ${values.length} values, the data has ${channels} channel${channels === 1 ? '' : 's'}`);
  }
  return Float64Array.from(values);
}

/** The stats file text: JSON with full float64 precision (JS prints the shortest round-trip form). */
export function formatStats(s: StatsFile, file: string): string {
  const bad = [...s.running_mean, ...s.running_var].findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new TsnormError(`${file}: not written: the running statistics are not finite (missing values in the input? try --nan ignore)`);
  }
  const ordered: Record<string, unknown> = {
    format: s.format, version: s.version, num_features: s.num_features,
    ...(s.channels ? { channels: s.channels } : {}),
    eps: s.eps, momentum: s.momentum,
    running_mean: s.running_mean, running_var: s.running_var, num_batches_tracked: s.num_batches_tracked,
    ...(s.weight ? { weight: s.weight, bias: s.bias } : {}),
  };
  return JSON.stringify(ordered, null, 2) + '\n';
}
