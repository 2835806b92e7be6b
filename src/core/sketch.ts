/**
 * A mergeable sketch of a channel's value distribution, for `check` to compare incoming data with
 * the data a reference was fitted on, without that data: counts in logarithmic buckets (the
 * layout of DDSketch, Masson et al., VLDB 2019). A value x > 0 is counted in bucket
 * k = ceil(log_gamma(x)), which holds (gamma^(k-1), gamma^k], gamma = (1 + a) / (1 - a); every
 * value of a bucket is within relative accuracy a of the bucket's value 2 gamma^k / (gamma + 1).
 * Negative values count in buckets of their magnitude, zero (and magnitudes below MIN_MAGNITUDE)
 * apart. Counts are integers, so merging (adding) is exact and in any order: the sketch of shards
 * merged equals the sketch of one fit over them. Missing and infinite values are not counted.
 */

/** Relative accuracy: a bucket spans 0.2% of its magnitude. */
export const RELATIVE_ACCURACY = 0.001;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** The largest bucket key a finite value has (by magnitude; the smallest is -MAX_KEY, about). */
export const MAX_KEY = Math.ceil(Math.log(Number.MAX_VALUE) / LOG_GAMMA);
/** Magnitudes below this are counted as zero (subnormals: their buckets would be of no use). */
const MIN_MAGNITUDE = 2.2250738585072014e-308;

/**
 * Counts of bucket keys: a dense window of consecutive keys from `first` (grown geometrically up
 * to WINDOW keys), and a map for keys beyond it. Values of one channel mostly lie within a few
 * decades (a few thousand keys); a rare value far away (1e-300 beside values near 1) must not
 * make the window, its memory and each of its moves, span every key between.
 */
interface Buckets {
  first: number;
  counts: number[];
  far: Map<number, number>;
}

/** Keys the dense window spans at most (every key of 64 decades at the relative accuracy). */
const WINDOW = 1 << 16;

const emptyBuckets = (): Buckets => ({ first: 0, counts: [], far: new Map() });

/**
 * The sketch as the stats file holds it, per channel: the zero count, and per sign its non-empty
 * buckets as runs of consecutive keys, [first key, [counts...]] (a gap of empty buckets starts a
 * new run: values far apart cost nothing between them).
 */
export interface ChannelSketchJson {
  zero: number;
  positive: BucketRun[];
  negative: BucketRun[];
}

export type BucketRun = [first: number, counts: number[]];

export interface SketchJson {
  kind: 'log-buckets';
  relative_accuracy: number;
  channels: ChannelSketchJson[];
}

/** One channel's buckets, grown as values arrive. */
export class ValueSketch {
  zero = 0;
  private readonly positive: Buckets = emptyBuckets();
  private readonly negative: Buckets = emptyBuckets();

  /** Values n, stride apart from `from`; NaN and infinities are left out. */
  add(values: ArrayLike<number>, from: number, n: number, stride: number): void {
    for (let i = 0, at = from; i < n; i++, at += stride) {
      const x = values[at]!;
      if (x > 0) {
        if (x === Infinity) continue;
        if (x < MIN_MAGNITUDE) this.zero++;
        else bump(this.positive, Math.ceil(Math.log(x) / LOG_GAMMA), 1);
      } else if (x < 0) {
        if (x === -Infinity) continue;
        if (x > -MIN_MAGNITUDE) this.zero++;
        else bump(this.negative, Math.ceil(Math.log(-x) / LOG_GAMMA), 1);
      } else if (x === 0) {
        this.zero++;
      }
    }
  }

  /** Adds another sketch's counts (exact), or with `sign` -1 takes them away (what a fit started from). */
  merge(other: ValueSketch, sign: 1 | -1 = 1): void {
    this.zero += sign * other.zero;
    for (const [k, n] of entries(other.positive)) bump(this.positive, k, sign * n);
    for (const [k, n] of entries(other.negative)) bump(this.negative, k, sign * n);
  }

  /** Whether no count went below zero (a sketch taken away that was not added). */
  get consistent(): boolean {
    return this.zero >= 0 && [this.positive, this.negative].every((b) => entries(b).every(([, n]) => n >= 0));
  }

  get count(): number {
    return this.zero + sum(entries(this.positive)) + sum(entries(this.negative));
  }

  toJSON(): ChannelSketchJson {
    return { zero: this.zero, positive: runsOf(this.positive), negative: runsOf(this.negative) };
  }

  static fromJSON(j: ChannelSketchJson): ValueSketch {
    const s = new ValueSketch();
    s.zero = j.zero;
    for (const [first, counts] of j.positive)
      counts.forEach((n, i) => {
        if (n !== 0) bump(s.positive, first + i, n);
      });
    for (const [first, counts] of j.negative)
      counts.forEach((n, i) => {
        if (n !== 0) bump(s.negative, first + i, n);
      });
    return s;
  }

  /**
   * Whether the buckets resolve the distribution: their width at its mean (2a of it) is at most
   * half its standard deviation. Values that vary little for their size (1e6 +- 1, kelvins) fall
   * in a few buckets, and scores of them would say nothing.
   */
  get resolves(): boolean {
    const points = this.points();
    const n = this.count;
    if (n === 0) return false;
    const scale = Math.max(...points.map((p) => Math.abs(p.value))) || 1;
    let mean = 0;
    for (const p of points) mean += ((p.value / scale) * p.count) / n;
    let variance = 0;
    for (const p of points) variance += ((p.value / scale - mean) ** 2 * p.count) / n;
    return Math.sqrt(variance) >= 4 * RELATIVE_ACCURACY * Math.abs(mean);
  }

  /** The distribution as (value, count) points in increasing value order, each bucket at its value. */
  points(): { value: number; count: number }[] {
    const out: { value: number; count: number }[] = [];
    for (const [k, n] of entries(this.negative).reverse()) if (n > 0) out.push({ value: -bucketValue(k), count: n });
    if (this.zero > 0) out.push({ value: 0, count: this.zero });
    for (const [k, n] of entries(this.positive)) if (n > 0) out.push({ value: bucketValue(k), count: n });
    return out;
  }
}

/** The value a bucket stands for: within the relative accuracy of every value counted in it. */
function bucketValue(k: number): number {
  // 2 gamma^k / (gamma + 1), in logarithms: gamma^k alone overflows for the largest buckets.
  return Math.exp(k * LOG_GAMMA + LOG_MIDPOINT);
}
const LOG_MIDPOINT = Math.log(2 / (GAMMA + 1));

/** Adds n (which may be negative: a start taken away) to key k's count. */
function bump(b: Buckets, k: number, n: number): void {
  if (b.counts.length === 0 && b.far.size === 0) {
    b.first = k;
    b.counts.push(0);
  }
  let i = k - b.first;
  if (i < 0 || i >= b.counts.length) {
    const last = b.first + b.counts.length - 1;
    const lo = Math.min(b.first, k);
    const hi = Math.max(last, k);
    if (hi - lo >= WINDOW) {
      b.far.set(k, (b.far.get(k) ?? 0) + n);
      return;
    }
    // Grown to at least twice its size toward k (so that a run of new keys moves it a few times), within WINDOW.
    if (k < b.first) {
      const first = Math.max(Math.min(k, b.first - b.counts.length), hi - WINDOW + 1);
      b.counts = new Array<number>(b.first - first).fill(0).concat(b.counts);
      b.first = first;
    } else {
      const end = Math.min(Math.max(k, last + b.counts.length), lo + WINDOW - 1);
      for (let j = last; j < end; j++) b.counts.push(0);
    }
    i = k - b.first;
  }
  b.counts[i]! += n;
}

/** Every key whose count is not 0, with its count, in increasing key order. */
function entries(b: Buckets): [number, number][] {
  const out: [number, number][] = [];
  b.counts.forEach((n, i) => {
    if (n !== 0) out.push([b.first + i, n]);
  });
  if (b.far.size === 0) return out;
  // A key counted far away before the window grew over it has counts in both.
  const all = new Map(out);
  for (const [k, n] of b.far) all.set(k, (all.get(k) ?? 0) + n);
  return [...all].filter(([, n]) => n !== 0).sort((x, y) => x[0] - y[0]);
}

/** Empty buckets in a row that end a run (fewer are written as zeros: cheaper than a new run). */
const RUN_GAP = 4;

function runsOf(b: Buckets): BucketRun[] {
  const runs: BucketRun[] = [];
  for (const [k, n] of entries(b)) {
    const run = runs[runs.length - 1];
    const next = run ? run[0] + run[1].length : 0;
    if (run && k - next < RUN_GAP) {
      for (let j = next; j < k; j++) run[1].push(0);
      run[1].push(n);
    } else {
      runs.push([k, [n]]);
    }
  }
  return runs;
}

const sum = (a: readonly [number, number][]): number => a.reduce((s, [, n]) => s + n, 0);

/** Per channel sketches, and their form in the stats file. */
export class ChannelSketches {
  readonly channels: ValueSketch[];
  constructor(channels: number) {
    this.channels = Array.from({ length: channels }, () => new ValueSketch());
  }

  merge(other: ChannelSketches, sign: 1 | -1 = 1): void {
    this.channels.forEach((s, c) => s.merge(other.channels[c]!, sign));
  }

  get consistent(): boolean {
    return this.channels.every((s) => s.consistent);
  }

  toJSON(): SketchJson {
    return { kind: 'log-buckets', relative_accuracy: RELATIVE_ACCURACY, channels: this.channels.map((s) => s.toJSON()) };
  }

  static fromJSON(j: SketchJson): ChannelSketches {
    const s = new ChannelSketches(0);
    s.channels.push(...j.channels.map((c) => ValueSketch.fromJSON(c)));
    return s;
  }
}

/** How far a distribution is from a reference's. */
export interface DistributionScores {
  /** Kolmogorov-Smirnov statistic: the largest distance between the two cumulative distributions. */
  readonly ks: number;
  /** Population stability index over ten bins at the reference's deciles (proportions floored at 1e-4). */
  readonly psi: number;
  /** Wasserstein-1 (earth mover's) distance, divided by the reference's standard deviation. */
  readonly wasserstein: number;
}

/** Proportions below this count as it in the PSI, so that an empty bin does not make it infinite. */
const PSI_FLOOR = 1e-4;
const PSI_BINS = 10;

/**
 * The scores of `current` against `reference`, both sketched with the same buckets: computed on
 * the buckets' values, so within the sketch's relative accuracy of the scores on the values.
 * Undefined when either has no value.
 */
export function distributionScores(reference: ValueSketch, current: ValueSketch): DistributionScores | undefined {
  const nr = reference.count;
  const nc = current.count;
  if (nr === 0 || nc === 0) return undefined;
  // Both distributions on the union of their buckets, in value order.
  const merged = new Map<number, { r: number; c: number }>();
  for (const p of reference.points()) merged.set(p.value, { r: p.count, c: 0 });
  for (const p of current.points()) {
    const m = merged.get(p.value);
    if (m) m.c = p.count;
    else merged.set(p.value, { r: 0, c: p.count });
  }
  const values = [...merged.keys()].sort((a, b) => a - b);
  // Distances and the spread in units of the largest magnitude: values near 1e308 would overflow.
  const scale = Math.max(Math.abs(values[0]!), Math.abs(values[values.length - 1]!)) || 1;
  let fr = 0;
  let fc = 0;
  let ks = 0;
  let w = 0;
  const binR = new Float64Array(PSI_BINS);
  const binC = new Float64Array(PSI_BINS);
  let refMean = 0;
  for (const v of values) refMean += ((v / scale) * merged.get(v)!.r) / nr;
  let refVar = 0;
  values.forEach((v, i) => {
    const m = merged.get(v)!;
    // The bin of the reference's deciles this bucket falls in: by the reference's share before it.
    const bin = Math.min(PSI_BINS - 1, Math.floor(fr * PSI_BINS + 1e-9));
    binR[bin]! += m.r / nr;
    binC[bin]! += m.c / nc;
    refVar += (m.r / nr) * (v / scale - refMean) ** 2;
    fr += m.r / nr;
    fc += m.c / nc;
    const gap = Math.abs(fr - fc);
    ks = Math.max(ks, gap);
    if (i + 1 < values.length && gap > 0) w += gap * (values[i + 1]! / scale - v / scale);
  });
  let psi = 0;
  for (let b = 0; b < PSI_BINS; b++) {
    const r = Math.max(binR[b]!, PSI_FLOOR);
    const c = Math.max(binC[b]!, PSI_FLOOR);
    psi += (c - r) * Math.log(c / r);
  }
  const std = Math.sqrt(refVar);
  return { ks: Math.min(1, ks), psi, wasserstein: std > 0 ? w / std : w > 0 ? Infinity : 0 };
}

/** Two distributions as one histogram: shares of each in equal-width bins over the range both mostly cover. */
export interface Histogram {
  /** Bin i is [edges[i], edges[i + 1]); values beyond the range count in the end bins. */
  readonly edges: number[];
  readonly reference: number[];
  readonly incoming: number[];
}

/**
 * The histogram a person compares two distributions with: `bins` equal-width bins from the 0.5%
 * to the 99.5% point of both together (a few far values would squeeze the rest into one bin), each
 * distribution's share of its values per bin. The reference may be absent (a stats file without a
 * sketch): its shares are then empty.
 */
export function histogramOf(reference: ValueSketch | undefined, incoming: ValueSketch, bins = 40): Histogram | undefined {
  const ref = reference?.points() ?? [];
  const cur = incoming.points();
  const all = [...ref, ...cur].sort((a, b) => a.value - b.value);
  const total = all.reduce((n, p) => n + p.count, 0);
  if (total === 0) return undefined;
  const at = (q: number): number => {
    let seen = 0;
    for (const p of all) {
      seen += p.count;
      if (seen >= q * total) return p.value;
    }
    return all[all.length - 1]!.value;
  };
  let lo = at(0.005);
  let hi = at(0.995);
  if (!(hi > lo)) {
    // One value (or nearly): a bin either side of it.
    const pad = Math.abs(lo) * 0.05 || 1;
    lo -= pad;
    hi += pad;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const shares = (points: { value: number; count: number }[]): number[] => {
    const out = new Array<number>(bins).fill(0);
    const n = points.reduce((m, p) => m + p.count, 0);
    if (n === 0) return [];
    for (const p of points) out[Math.min(bins - 1, Math.max(0, Math.floor((p.value - lo) / width)))]! += p.count / n;
    return out;
  };
  return { edges, reference: shares(ref), incoming: shares(cur) };
}
