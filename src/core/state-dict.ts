import { TsnormError } from '../errors.js';
import { type BucketRun, MAX_KEY, RELATIVE_ACCURACY, type SketchJson } from './sketch.js';
import type { Momentum } from './running-stats.js';

/**
 * The rules of InstanceNorm1d's parameters as torch's state_dict holds them (running_mean,
 * running_var, num_batches_tracked, weight, bias, possibly under a layer's prefix), plus
 * tsnorm's own keys: one place that checks them, for stats files (--stats, --affine) and for
 * objects handed to the library (InstanceNorm1d.loadStateDict). Pure: no I/O.
 */

/** What an input stats or affine file held, not yet checked against the data's channel count. */
export interface LoadedParams {
  readonly file: string;
  /** Where in the file the values were found: '' for top-level keys, else a state_dict prefix such as 'norm.'. */
  readonly prefix: string;
  readonly runningMean?: number[];
  readonly runningVar?: number[];
  readonly numBatchesTracked?: number;
  /** Per channel, the updates running_mean and running_var received, when the file records them. */
  readonly meanUpdates?: number[];
  readonly varUpdates?: number[];
  /** Where the fit that wrote the file started (tsnorm's start_* keys), when it says. */
  readonly start?: {
    readonly mean: number[];
    readonly var: number[];
    readonly numBatchesTracked: number;
    readonly meanUpdates?: number[] | undefined;
    readonly varUpdates?: number[] | undefined;
  };
  /** Whether the file holds weight and bias (always both or neither: one alone is refused). */
  readonly hasAffine: boolean;
  readonly weight?: number[];
  readonly bias?: number[];
  readonly eps?: number;
  readonly momentum?: Momentum;
  readonly channels?: string[];
  /** The fitted values' distribution per channel (tsnorm's "sketch"), and the one the fit started from ("start_sketch"). */
  readonly sketch?: SketchJson;
  readonly startSketch?: SketchJson;
}

export interface LoadParamsOptions {
  /**
   * The state_dict prefix to read, as given to --stats-key: 'norm' or 'norm.' reads
   * 'norm.running_mean' and so on; '' reads top-level keys. Found from the file when not given.
   */
  readonly key?: string;
  /**
   * What the file is for, which decides the prefix found when no key is given: 'stats' takes the
   * one prefix holding running_mean; 'affine' the one holding weight and bias (if several, the
   * one of them also holding running_mean). Default 'stats'.
   */
  readonly purpose?: 'stats' | 'affine';
}

/** tsnorm's own keys of arrays (at the top level, never under a layer's prefix). */
const OWN_KEYS = ['mean_updates', 'var_updates', 'start_mean', 'start_var', 'start_mean_updates', 'start_var_updates'] as const;
type OwnKey = (typeof OWN_KEYS)[number];

/** The keys InstanceNorm1d's state_dict holds, each possibly under a prefix such as 'norm.'. */
const STATE_KEYS = ['running_mean', 'running_var', 'num_batches_tracked', 'weight', 'bias'] as const;
type StateKey = (typeof STATE_KEYS)[number];

/**
 * The parameters an object holds (a parsed stats file, or a state dict a library user passes),
 * checked by the same rules wherever it came from. `file` names it in messages.
 */
export function paramsOf(obj: unknown, file: string, options: LoadParamsOptions = {}): LoadedParams {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new TsnormError(`${file}: expected a JSON object`, 'TSNORM_PARAMS');
  const o = obj as Record<string, unknown>;
  const prefix = choosePrefix(file, o, options);
  // state_dict keys take the layer's prefix; tsnorm's own keys (mean_updates, ...) are top-level.
  const numbers = (name: StateKey | OwnKey): number[] | undefined => {
    const key = (OWN_KEYS as readonly string[]).includes(name) ? name : prefix + name;
    const v = o[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw new TsnormError(`${file}: "${key}" must be an array of numbers, got ${describe(v)}`, 'TSNORM_PARAMS');
    v.forEach((x: unknown, i) => {
      // JSON.parse reads 1e400 as Infinity: the file's number is beyond what a float64 holds.
      if (typeof x === 'number' && !Number.isFinite(x))
        throw new TsnormError(`${file}: "${key}"[${i}] is out of float64's range (magnitude above 1.8e308)`, 'TSNORM_PARAMS');
      if (typeof x !== 'number') throw new TsnormError(`${file}: "${key}"[${i}] is ${describe(x)}, expected a finite number`, 'TSNORM_PARAMS');
    });
    return v as number[];
  };
  const out: { -readonly [K in keyof LoadedParams]: LoadedParams[K] } = { file, prefix, hasAffine: false };
  const runningMean = numbers('running_mean');
  const runningVar = numbers('running_var');
  const weight = numbers('weight');
  const bias = numbers('bias');
  if (runningMean) out.runningMean = runningMean;
  if (runningVar) {
    const neg = runningVar.findIndex((v) => v < 0);
    if (neg >= 0) throw new TsnormError(`${file}: "${prefix}running_var"[${neg}] is ${runningVar[neg]}, variances must be >= 0`, 'TSNORM_PARAMS');
    out.runningVar = runningVar;
  }
  if ((weight === undefined) !== (bias === undefined)) {
    const [has, lacks] = weight ? ['weight', 'bias'] : ['bias', 'weight'];
    throw new TsnormError(`${file}: has "${prefix}${has}" but no "${prefix}${lacks}": an affine transform needs both`, 'TSNORM_PARAMS');
  }
  if (weight && bias) {
    out.weight = weight;
    out.bias = bias;
    out.hasAffine = true;
  }
  const nbt = o[prefix + 'num_batches_tracked'];
  if (nbt !== undefined) out.numBatchesTracked = batchCount(nbt, `${file}: "${prefix}num_batches_tracked"`);
  const counts = (key: OwnKey): number[] | undefined => {
    const values = o[key] === undefined ? undefined : numbers(key);
    const bad = values?.findIndex((k) => !Number.isSafeInteger(k) || k < 0) ?? -1;
    if (bad >= 0) throw new TsnormError(`${file}: "${key}"[${bad}] is ${values![bad]}, expected a whole number >= 0`, 'TSNORM_PARAMS');
    return values;
  };
  const meanUpdates = counts('mean_updates');
  const varUpdates = counts('var_updates');
  if (meanUpdates) out.meanUpdates = meanUpdates;
  if (varUpdates) out.varUpdates = varUpdates;
  // Where a fit started (stats merge needs it): all of it or nothing.
  const startMean = numbers('start_mean');
  const startVar = numbers('start_var');
  if (startMean || startVar || o['start_num_batches_tracked'] !== undefined) {
    if (!startMean || !startVar || o['start_num_batches_tracked'] === undefined)
      throw new TsnormError(
        `${file}: "start_mean", "start_var" and "start_num_batches_tracked" go together (where the fit started); some are missing`,
        'TSNORM_PARAMS',
      );
    const startBatches = batchCount(o['start_num_batches_tracked'], `${file}: "start_num_batches_tracked"`);
    out.start = {
      mean: startMean,
      var: startVar,
      numBatchesTracked: startBatches,
      meanUpdates: counts('start_mean_updates'),
      varUpdates: counts('start_var_updates'),
    };
  }
  if (o['format'] !== undefined && o['format'] !== 'tsnorm-stats')
    throw new TsnormError(
      `${file}: "format" is ${describe(o['format'])}, expected "tsnorm-stats" (or no "format": a plain or state_dict file)`,
      'TSNORM_PARAMS',
    );
  if (o['format'] === 'tsnorm-stats' && o['version'] !== 1)
    throw new TsnormError(`${file}: stats file version ${describe(o['version'])}: this tsnorm reads version 1 (a newer tsnorm wrote it?)`, 'TSNORM_PARAMS');
  if (o['eps'] !== undefined) out.eps = checkEps(o['eps'], `${file}: "eps"`);
  if (o['momentum'] !== undefined) out.momentum = checkMomentum(o['momentum'] === null ? 'cumulative' : o['momentum'], `${file}: "momentum"`);
  const ch = o['channels'];
  if (ch !== undefined) {
    if (!Array.isArray(ch) || !ch.every((x) => typeof x === 'string')) throw new TsnormError(`${file}: "channels" must be an array of names`, 'TSNORM_PARAMS');
    out.channels = ch as string[];
  }
  for (const [key, field] of [
    ['sketch', 'sketch'],
    ['start_sketch', 'startSketch'],
  ] as const) {
    if (o[key] === undefined) continue;
    const sketch = sketchOf(o[key], `${file}: "${key}"`);
    if (out.runningMean && sketch.channels.length !== out.runningMean.length)
      throw new TsnormError(`${file}: "${key}" has ${sketch.channels.length} channels, "${prefix}running_mean" ${out.runningMean.length}`, 'TSNORM_PARAMS');
    out[field] = sketch;
  }
  checkSizesAgree(file, o['num_features'], out);
  return out;
}

/** A value sketch as the stats file holds it (see core/sketch.ts), checked: whole counts, one accuracy. */
function sketchOf(v: unknown, what: string): SketchJson {
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  const whole = (x: unknown, where: string, min: number): number => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min)
      throw new TsnormError(`${what}${where} is ${describe(x)}, expected a whole number${min === 0 ? ' >= 0' : ''}`, 'TSNORM_PARAMS');
    return x;
  };
  if (!isObject(v)) throw new TsnormError(`${what} must be an object, got ${describe(v)}`, 'TSNORM_PARAMS');
  if (v['kind'] !== 'log-buckets') throw new TsnormError(`${what}: "kind" is ${describe(v['kind'])}, expected "log-buckets"`, 'TSNORM_PARAMS');
  if (v['relative_accuracy'] !== RELATIVE_ACCURACY)
    throw new TsnormError(
      `${what}: "relative_accuracy" is ${describe(v['relative_accuracy'])}; this tsnorm compares sketches of ${RELATIVE_ACCURACY}`,
      'TSNORM_PARAMS',
    );
  const channels = v['channels'];
  if (!Array.isArray(channels)) throw new TsnormError(`${what}: "channels" must be an array`, 'TSNORM_PARAMS');
  return {
    kind: 'log-buckets',
    relative_accuracy: RELATIVE_ACCURACY,
    channels: channels.map((ch: unknown, c) => {
      if (!isObject(ch)) throw new TsnormError(`${what}: channel ${c} must be an object, got ${describe(ch)}`, 'TSNORM_PARAMS');
      const buckets = (side: 'positive' | 'negative'): BucketRun[] => {
        const runs = ch[side];
        const shape = `"${side}" must be a list of [first key, [counts...]]`;
        if (!Array.isArray(runs)) throw new TsnormError(`${what}: channel ${c}: ${shape}`, 'TSNORM_PARAMS');
        return runs.map((run: unknown, r): BucketRun => {
          if (!Array.isArray(run) || run.length !== 2 || !Array.isArray(run[1])) throw new TsnormError(`${what}: channel ${c}: ${shape}`, 'TSNORM_PARAMS');
          const where = ` channel ${c} ${side} run ${r}`;
          const first = whole(run[0], `${where} key`, -Infinity);
          const counts = (run[1] as unknown[]).map((n, i) => whole(n, `${where} count ${i}`, 0));
          // Keys of finite values only: beyond them a bucket's value is infinite or zero.
          if (Math.abs(first) > MAX_KEY || Math.abs(first + counts.length - 1) > MAX_KEY)
            throw new TsnormError(
              `${what}${where}: keys ${first} to ${first + counts.length - 1} are beyond those of finite values (+-${MAX_KEY})`,
              'TSNORM_PARAMS',
            );
          return [first, counts];
        });
      };
      return { zero: whole(ch['zero'], ` channel ${c} "zero"`, 0), positive: buckets('positive'), negative: buckets('negative') };
    }),
  };
}

/**
 * The prefix under which the file holds the norm layer's keys: the one given, else the only
 * candidate for the purpose, else top level. Several candidates and no key: refused, not guessed.
 */
function choosePrefix(file: string, o: Record<string, unknown>, options: LoadParamsOptions): string {
  const held = new Map<string, Set<StateKey>>();
  for (const key of Object.keys(o)) {
    for (const name of STATE_KEYS) {
      if (key === name || key.endsWith(`.${name}`)) {
        const prefix = key.slice(0, key.length - name.length);
        if (!held.has(prefix)) held.set(prefix, new Set());
        held.get(prefix)!.add(name);
      }
    }
  }
  const holds = (prefix: string, ...names: StateKey[]) => names.every((n) => held.get(prefix)?.has(n));
  const listed = (prefixes: Iterable<string>) => [...prefixes].sort().map(prefixName).join(', ');
  if (options.key !== undefined) {
    const bare = options.key.replace(/\.$/, '');
    const prefix = bare === '' ? '' : `${bare}.`;
    if (held.has(prefix)) return prefix;
    // --stats-key names a layer of whichever file is a state_dict: a plain file (only top-level
    // keys) given beside it, say --affine a.json, is read as it is.
    if (held.size === 1 && held.has('')) return '';
    const there = held.size > 0 ? `prefixes in the file: ${listed(held.keys())}` : `it has no ${STATE_KEYS.join(', ')} under any prefix`;
    throw new TsnormError(`${file}: no keys under prefix "${prefix}" (--stats-key ${JSON.stringify(options.key)}); ${there}`, 'TSNORM_PARAMS');
  }
  const prefixes = [...held.keys()];
  if (options.purpose === 'affine') {
    const affine = prefixes.filter((p) => holds(p, 'weight', 'bias'));
    if (affine.length <= 1) return affine[0] ?? '';
    const withStats = affine.filter((p) => holds(p, 'running_mean'));
    if (withStats.length === 1) return withStats[0]!;
    throw new TsnormError(
      `${file}: "weight" and "bias" under several prefixes (${listed(withStats.length > 1 ? withStats : affine)}): pick one with --stats-key`,
      'TSNORM_PARAMS',
    );
  }
  const stats = prefixes.filter((p) => holds(p, 'running_mean'));
  if (stats.length <= 1) return stats[0] ?? '';
  throw new TsnormError(`${file}: "running_mean" under several prefixes (${listed(stats)}): pick one with --stats-key`, 'TSNORM_PARAMS');
}

/** A prefix as --stats-key takes it. */
function prefixName(prefix: string): string {
  return prefix === '' ? '"" (top-level keys)' : prefix.slice(0, -1);
}

/** torch saves num_batches_tracked as a 0-d tensor: a number, or a list of one from some converters. */
function batchCount(v: unknown, what: string): number {
  const n = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new TsnormError(`${what} must be a whole number >= 0, got ${describe(v)}`, 'TSNORM_PARAMS');
  return n;
}

/** num_features, the channel names and every per-channel array must tell the same channel count. */
function checkSizesAgree(file: string, numFeatures: unknown, p: LoadedParams): void {
  const sizes: { name: string; size: number; kind: 'number' | 'names' | 'values' }[] = [];
  if (numFeatures !== undefined) {
    if (typeof numFeatures !== 'number' || !Number.isSafeInteger(numFeatures) || numFeatures < 0) {
      throw new TsnormError(`${file}: "num_features" must be a whole number >= 0, got ${describe(numFeatures)}`, 'TSNORM_PARAMS');
    }
    sizes.push({ name: 'num_features', size: numFeatures, kind: 'number' });
  }
  if (p.channels) sizes.push({ name: 'channels', size: p.channels.length, kind: 'names' });
  const arrays: [StateKey, number[] | undefined][] = [
    ['running_mean', p.runningMean],
    ['running_var', p.runningVar],
    ['weight', p.weight],
    ['bias', p.bias],
  ];
  for (const [name, values] of arrays) if (values) sizes.push({ name: p.prefix + name, size: values.length, kind: 'values' });
  const own = [
    ['mean_updates', p.meanUpdates],
    ['var_updates', p.varUpdates],
    ['start_mean', p.start?.mean],
    ['start_var', p.start?.var],
    ['start_mean_updates', p.start?.meanUpdates],
    ['start_var_updates', p.start?.varUpdates],
  ] as const;
  for (const [name, values] of own) if (values) sizes.push({ name, size: values.length, kind: 'values' });
  const first = sizes[0];
  const other = sizes.find((s) => s.size !== first?.size);
  if (!first || !other) return;
  const told = (s: (typeof sizes)[number], unit = true) =>
    s.kind === 'number'
      ? `"${s.name}" is ${s.size}`
      : `"${s.name}" has ${s.size}${unit ? ` ${s.kind === 'names' ? 'name' : 'value'}${s.size === 1 ? '' : 's'}` : ''}`;
  // "running_mean has 3 values but running_var has 2": the unit is said once when both are arrays.
  throw new TsnormError(`${file}: ${told(first)} but ${told(other, !(first.kind === 'values' && other.kind === 'values'))}`, 'TSNORM_PARAMS');
}

/**
 * A value (from a file or a flag) as an error message shows it: short, and without
 * JSON.stringify of containers, which overflows the stack on an array nested a million deep
 * (JSON.parse itself copes).
 */
function describe(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : "a number out of float64's range";
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v === null || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'an array';
  return 'an object';
}

/** A plain decimal number as a user writes one: no hex, binary, octal, Infinity or padding, which Number() would take. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function asNumber(v: unknown): unknown {
  return typeof v === 'string' && DECIMAL.test(v) ? Number(v) : v;
}

export function checkEps(v: unknown, what: string): number {
  const x = asNumber(v);
  if (typeof x !== 'number' || !Number.isFinite(x) || !(x > 0))
    throw new TsnormError(`${what}: expected a positive number, got ${describe(v)}`, 'TSNORM_PARAMS');
  return x;
}

export function checkMomentum(v: unknown, what: string): Momentum {
  if (v === 'cumulative') return v;
  const x = asNumber(v);
  if (typeof x !== 'number' || !(x >= 0 && x <= 1))
    throw new TsnormError(`${what}: expected a number in [0, 1] or "cumulative", got ${describe(v)}`, 'TSNORM_PARAMS');
  return x;
}

/** Checks that a parameter array has one entry per channel. */
export function perChannel(values: number[] | undefined, key: string, channels: number, file: string): Float64Array {
  if (!values) throw new TsnormError(`${file}: has no "${key}"`, 'TSNORM_PARAMS');
  if (values.length !== channels) {
    throw new TsnormError(`${file}: "${key}" has ${values.length} values, the data has ${channels} channel${channels === 1 ? '' : 's'}`, 'TSNORM_PARAMS');
  }
  return Float64Array.from(values);
}
