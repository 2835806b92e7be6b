/**
 * Invariants of the core (src/core): InstanceNorm1d's output under affine maps of its input, the
 * output's mean and variance, eval with an instance's own statistics, running statistics merged
 * from shards (associative, and equal to one fit), and the moments of a series cut into pieces.
 * Every reference here is computed independently, in float64, from textbook formulas; each
 * tolerance is a bound on the rounding the operation may do, derived in its comment.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Block } from '../../src/core/block.js';
import { NormEngine } from '../../src/core/engine.js';
import { InstanceNorm1d } from '../../src/core/instance-norm.js';
import { type Fit, mergeFits } from '../../src/core/merge.js';
import { ChannelMoments } from '../../src/core/moments.js';
import { type Momentum, type RunningState, RunningStats } from '../../src/core/running-stats.js';
import { settings, timeoutFor } from './support.js';

const EPSILON = Number.EPSILON;

/** Data of one shape: (N, C, L) values around an offset, with a spread, sometimes constant series. */
interface Data {
  readonly n: number;
  readonly c: number;
  readonly l: number;
  readonly x: Float64Array;
}

const data = (maxN = 3, maxC = 3, maxL = 24): fc.Arbitrary<Data> =>
  fc
    .record({
      n: fc.integer({ min: 1, max: maxN }),
      c: fc.integer({ min: 1, max: maxC }),
      l: fc.integer({ min: 2, max: maxL }),
      offset: fc.constantFrom(0, 1, -3, 1e3, -1e6, 1e9),
      spread: fc.constantFrom(1e-6, 1e-3, 1, 7.5, 1e3),
      u: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: maxN * maxC * maxL, maxLength: maxN * maxC * maxL }),
      constant: fc.nat(20),
    })
    .map((d) => {
      const x = Float64Array.from({ length: d.n * d.c * d.l }, (_, i) => d.offset + d.spread * d.u[i]!);
      // Now and then a constant series (its variance is zero: the output is exactly the bias).
      if (d.constant < d.n * d.c) x.fill(x[d.constant * d.l]!, d.constant * d.l, (d.constant + 1) * d.l);
      return { n: d.n, c: d.c, l: d.l, x };
    });

/** Textbook float64 statistics of series q: mean, biased variance, largest |x|. */
function stats(x: ArrayLike<number>, q: number, l: number): { mean: number; variance: number; max: number } {
  let sum = 0;
  let max = 0;
  for (let t = 0; t < l; t++) {
    sum += x[q * l + t]!;
    max = Math.max(max, Math.abs(x[q * l + t]!));
  }
  const mean = sum / l;
  let ss = 0;
  for (let t = 0; t < l; t++) ss += (x[q * l + t]! - mean) ** 2;
  return { mean, variance: ss / l, max };
}

const isConstant = (x: ArrayLike<number>, q: number, l: number): boolean => {
  for (let t = 1; t < l; t++) if (x[q * l + t] !== x[q * l]) return false;
  return true;
};

function forward(d: Data, x: Float64Array, eps: number, affine?: { weight: number[]; bias: number[] }): Float64Array {
  const m = new InstanceNorm1d(d.c, { eps, affine: affine !== undefined });
  if (affine) m.loadStateDict(affine);
  return m.forward({ shape: [d.n, d.c, d.l], data: x }).data as Float64Array;
}

/** |got - want| within the tolerance, give or take a few subnormals (squares of tiny values underflow). */
function expectWithin(got: number, want: number, tolerance: number, what: string): void {
  if (!(Math.abs(got - want) <= tolerance + 8 * Number.MIN_VALUE))
    throw new Error(`${what}: got ${got}, want ${want} (difference ${Math.abs(got - want)} > ${tolerance})`);
}

describe('InstanceNorm1d', () => {
  it(
    'normalize(a x + b) = sign(a) normalize(x), up to eps and rounding',
    () => {
      const scale = fc.oneof(
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        fc.double({ min: -1e3, max: -1e-3, noNaN: true }),
        fc.constantFrom(1, -1, 2, 0.5),
      );
      fc.assert(
        fc.property(data(), scale, fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.constantFrom(1e-5, 1e-30), (d, a, b, eps) => {
          const z = d.x.map((v) => a * v + b);
          const y = forward(d, d.x, eps);
          const yz = forward(d, z, eps);
          for (let q = 0; q < d.n * d.c; q++) {
            const sx = stats(d.x, q, d.l);
            const sz = stats(z, q, d.l);
            // Constant in, exactly zero out.
            if (isConstant(d.x, q, d.l)) {
              for (let t = 0; t < d.l; t++) expect(y[q * d.l + t]).toBe(0);
              continue;
            }
            if (isConstant(z, q, d.l)) continue; // a x + b rounded to one value: nothing left to compare
            const sd = Math.sqrt(sx.variance);
            // Rounding: a x + b is off by up to an ulp of its largest value, and each mean and
            // variance accumulates a few ulps per step, all relative to the spread (sd).
            const rounding = 8 * d.l * EPSILON * (sz.max / (Math.abs(a) * sd) + sx.max / sd + 1);
            for (let t = 0; t < d.l; t++) {
              const i = q * d.l + t;
              // eps: y = (x - m) / sqrt(v + eps) and yz = (x - m) / sqrt(v + eps / a^2).
              const epsEffect = Math.abs(y[i]!) * (eps / sx.variance) * (1 + 1 / a ** 2);
              expectWithin(Math.sign(a) * yz[i]!, y[i]!, rounding + epsEffect, `series ${q}, step ${t}`);
            }
          }
        }),
        settings(),
      );
    },
    timeoutFor(1),
  );

  it(
    'each output series has mean bias and biased variance weight^2 var / (var + eps)',
    () => {
      const affine = fc.option(
        fc.record({
          weight: fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 3, maxLength: 3 }),
          bias: fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 3, maxLength: 3 }),
        }),
      );
      fc.assert(
        fc.property(data(), affine, fc.constantFrom(1e-5, 1e-3, 0.1, 1, 1e-12), (d, af, eps) => {
          const params = af ? { weight: af.weight.slice(0, d.c), bias: af.bias.slice(0, d.c) } : undefined;
          const y = forward(d, d.x, eps, params);
          for (let q = 0; q < d.n * d.c; q++) {
            const c = q % d.c;
            const w = params?.weight[c] ?? 1;
            const b = params?.bias[c] ?? 0;
            const sx = stats(d.x, q, d.l);
            const sy = stats(y, q, d.l);
            if (isConstant(d.x, q, d.l)) {
              // Exactly the bias.
              for (let t = 0; t < d.l; t++) expect(y[q * d.l + t] === b, `series ${q}: ${y[q * d.l + t]} is not the bias ${b}`).toBe(true);
              continue;
            }
            // Rounding relative to the output's scale: centring x loses up to an ulp of its largest
            // value (relative to sqrt(var + eps)), and the sums over L steps a few ulps each.
            const s = (Math.abs(w) * (sx.max + Math.abs(sx.mean))) / Math.sqrt(sx.variance + eps) + Math.abs(b) + 1;
            expectWithin(sy.mean, b, 16 * d.l * EPSILON * s, `series ${q}: mean`);
            expectWithin(sy.variance, (w * w * sx.variance) / (sx.variance + eps), 32 * d.l * EPSILON * s * s, `series ${q}: variance`);
          }
        }),
        settings(),
      );
    },
    timeoutFor(1),
  );

  it(
    "eval with running statistics set to an instance's own mean and biased variance gives the training output",
    () => {
      fc.assert(
        fc.property(data(1, 3, 32), fc.constantFrom(1e-5, 1e-3, 1), fc.boolean(), (d, eps, withAffine) => {
          const affine = withAffine
            ? { weight: Array.from({ length: d.c }, (_, c) => 0.5 + c), bias: Array.from({ length: d.c }, (_, c) => c - 1) }
            : undefined;
          const train = forward(d, d.x, eps, affine);
          // The instance's own statistics, as the engine computes them.
          const moments = new ChannelMoments(d.c);
          for (let c = 0; c < d.c; c++) moments.add(c, d.x, c * d.l, d.l, 1);
          const running_mean = Array.from({ length: d.c }, (_, c) => moments.mean(c));
          const running_var = Array.from({ length: d.c }, (_, c) => moments.variance(c));
          const m = new InstanceNorm1d(d.c, { eps, affine: withAffine, trackRunningStats: true });
          m.loadStateDict({ running_mean, running_var, ...(affine ?? {}) });
          m.eval();
          const evaluated = m.forward({ shape: [d.n, d.c, d.l], data: d.x }).data;
          for (let c = 0; c < d.c; c++) {
            const scale = (affine?.weight[c] ?? 1) / Math.sqrt(running_var[c]! + eps);
            for (let t = 0; t < d.l; t++) {
              const i = c * d.l + t;
              // Training centres with the mean's low part too (a compensated mean); eval has the
              // rounded mean only: they differ by at most an ulp of the mean, times the scale.
              const tolerance = 4 * EPSILON * (Math.abs(running_mean[c]! * scale) + Math.abs(train[i]!) + Math.abs(affine?.bias[c] ?? 0));
              expectWithin(evaluated[i]!, train[i]!, tolerance, `channel ${c}, step ${t}`);
            }
          }
        }),
        settings(),
      );
    },
    timeoutFor(1),
  );
});

// ---------------------------------------------------------------------------------------------
// Moments of a series in pieces, and the engine over any split into blocks.

/** Cut points (sorted, inside (0, l)) from arbitrary numbers. */
const cutsIn = (raw: readonly number[], l: number): number[] =>
  [...new Set(raw.map((r) => 1 + (r % Math.max(1, l - 1))))].filter((c) => c < l).sort((a, b) => a - b);

/** The engine over blocks cut at these steps (per instance, per channel unit), as the pipeline drives it. */
function engineOutput(d: Data, eps: number, cuts: readonly number[], unit: number): Float64Array {
  const engine = new NormEngine({ channels: d.c, eps, training: true, nan: 'propagate' });
  const out = new Float64Array(d.x.length);
  for (let i = 0; i < d.n; i++) {
    engine.startInstance();
    for (let first = 0; first < d.c; first += unit) {
      const count = Math.min(unit, d.c - first);
      const bounds = [0, ...cuts, d.l];
      const blocks: Block[] = [];
      for (let k = 0; k + 1 < bounds.length; k++) {
        blocks.push({
          instance: i,
          values: d.x,
          offset: (i * d.c + first) * d.l + bounds[k]!,
          channelStride: d.l,
          stepStride: 1,
          firstChannel: first,
          channelCount: count,
          firstStep: bounds[k]!,
          stepCount: bounds[k + 1]! - bounds[k]!,
        });
      }
      for (const b of blocks) engine.accumulate(b);
      engine.finishStatistics(first, count, d.l, () => `instance ${i}`);
      for (const b of blocks) engine.transform(b, out);
    }
    engine.finishInstance();
  }
  engine.finishBatch();
  return out;
}

describe('statistics of a series in pieces', () => {
  it(
    'the moments do not depend on where the series is cut, up to rounding',
    () => {
      fc.assert(
        fc.property(data(1, 1, 64), fc.array(fc.nat(), { maxLength: 8 }), (d, raw) => {
          const whole = new ChannelMoments(1);
          whole.add(0, d.x, 0, d.l, 1);
          const pieces = new ChannelMoments(1);
          const bounds = [0, ...cutsIn(raw, d.l), d.l];
          for (let k = 0; k + 1 < bounds.length; k++) pieces.add(0, d.x, bounds[k]!, bounds[k + 1]! - bounds[k]!, 1);
          const s = stats(d.x, 0, d.l);
          expect(pieces.count[0]).toBe(d.l);
          // Chan's merge and the two-pass sums: a few ulps per piece and per step, of the largest value
          // for the mean and of the largest squared deviation for M2.
          const k = bounds.length;
          expectWithin(pieces.mean(0), whole.mean(0), 4 * (k + d.l) * EPSILON * s.max, 'mean');
          expectWithin(pieces.variance(0), whole.variance(0), 8 * (k + d.l) * EPSILON * (s.max + Math.abs(s.mean)) ** 2, 'variance');
          expectWithin(whole.variance(0), s.variance, 8 * d.l * EPSILON * (s.max + Math.abs(s.mean)) ** 2, 'variance (textbook)');
        }),
        settings(),
      );
    },
    timeoutFor(1),
  );

  it(
    'the engine gives the same output, up to rounding, for any split into blocks and channel units',
    () => {
      fc.assert(
        fc.property(data(2, 3, 40), fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom(1e-5, 1), (d, raw, unit, eps) => {
          const reference = engineOutput(d, eps, [], d.c);
          const split = engineOutput(d, eps, cutsIn(raw, d.l), unit);
          for (let q = 0; q < d.n * d.c; q++) {
            const s = stats(d.x, q, d.l);
            const sd = Math.sqrt(s.variance + eps);
            for (let t = 0; t < d.l; t++) {
              const i = q * d.l + t;
              // Mean and variance differ by a few ulps (previous property): the output by as many,
              // relative to the spread.
              expectWithin(split[i]!, reference[i]!, 16 * d.l * EPSILON * ((s.max + Math.abs(s.mean)) / sd + 1), `series ${q}, step ${t}`);
            }
          }
        }),
        settings(),
      );
    },
    timeoutFor(1),
  );
});

// ---------------------------------------------------------------------------------------------
// Running statistics: fits made by RunningStats itself from random batches, merged.

const momentum = fc.oneof(fc.constant<Momentum>('cumulative'), fc.constantFrom<Momentum>(0, 0.1, 0.5, 1), fc.double({ min: 0, max: 1, noNaN: true }));

/** A shard: batches of instances, each instance C series of a few values (NaN for missing). */
const shard = (c: number) =>
  fc.array(
    fc.array(
      fc.array(
        fc.array(fc.oneof({ arbitrary: fc.double({ min: -100, max: 100, noNaN: true }), weight: 9 }, { arbitrary: fc.constant(NaN), weight: 1 }), {
          minLength: 0,
          maxLength: 5,
        }),
        { minLength: c, maxLength: c },
      ),
      { minLength: 1, maxLength: 3 },
    ),
    { minLength: 0, maxLength: 4 },
  );

type Shard = number[][][][];

/** RunningStats from `start` over the shard's batches (missing values ignored, as --nan ignore). */
function fit(c: number, m: Momentum, start: RunningState | undefined, batches: Shard, into?: RunningStats): RunningStats {
  const running =
    into ??
    new RunningStats(
      c,
      m,
      start && { mean: start.mean, var: start.var, numBatchesTracked: start.numBatchesTracked, meanUpdates: start.meanUpdates, varUpdates: start.varUpdates },
    );
  const moments = new ChannelMoments(c);
  for (const batch of batches) {
    for (const instance of batch) {
      moments.reset();
      instance.forEach((series, ch) => moments.add(ch, Float64Array.from(series), 0, series.length, 1, true));
      running.observe(moments);
    }
    running.update();
  }
  return running;
}

const fitOf = (r: RunningStats): Fit => ({ momentum: r.momentum, start: r.start, end: r.state() });

/** Largest magnitude of a state's statistics (the scale of their rounding). */
const magnitude = (...states: RunningState[]): number => Math.max(1, ...states.flatMap((s) => [...s.mean, ...s.var].map(Math.abs)));

function expectStatesClose(got: RunningState, want: RunningState, tolerance: number, what: string): void {
  expect(got.numBatchesTracked, `${what}: num_batches_tracked`).toBe(want.numBatchesTracked);
  expect([...got.meanUpdates], `${what}: mean updates`).toEqual([...want.meanUpdates]);
  expect([...got.varUpdates], `${what}: var updates`).toEqual([...want.varUpdates]);
  got.mean.forEach((x, c) => expectWithin(x, want.mean[c]!, tolerance, `${what}: running_mean[${c}]`));
  got.var.forEach((x, c) => expectWithin(x, want.var[c]!, tolerance, `${what}: running_var[${c}]`));
}

describe('running statistics of shards, merged', () => {
  const C = 2;

  it(
    'merge is associative: (a + b) + c = a + (b + c)',
    () => {
      // Each shard starts from a state of its own (the prior, or stats it continued from).
      const startState = fc.option(
        fc.record({
          mean: fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: C, maxLength: C }),
          var: fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: C, maxLength: C }),
          k: fc.nat(5),
        }),
      );
      fc.assert(
        fc.property(momentum, fc.tuple(shard(C), shard(C), shard(C)), fc.tuple(startState, startState, startState), (m, shards, starts) => {
          const fits = shards.map((s, i) => {
            const st = starts[i];
            const start: RunningState | undefined = st
              ? {
                  mean: Float64Array.from(st.mean),
                  var: Float64Array.from(st.var),
                  numBatchesTracked: st.k,
                  meanUpdates: new Float64Array(C).fill(st.k),
                  varUpdates: new Float64Array(C).fill(st.k),
                }
              : undefined;
            return fitOf(fit(C, m, start, s));
          });
          const [a, b, c] = fits as [Fit, Fit, Fit];
          const left = mergeFits([mergeFits([a, b]), c]);
          const right = mergeFits([a, mergeFits([b, c])]);
          const flat = mergeFits([a, b, c]);
          // A few roundings of values of this magnitude per merge, more with many updates to undo.
          const updates = fits.reduce((n, f) => n + f.end.numBatchesTracked, 0);
          const tolerance = 64 * EPSILON * magnitude(a.start, a.end, b.start, b.end, c.start, c.end) * (1 + updates);
          expectStatesClose(left.end, right.end, tolerance, '(a+b)+c vs a+(b+c)');
          expectStatesClose(flat.end, left.end, tolerance, 'a+b+c vs (a+b)+c');
          expect([...left.start.mean]).toEqual([...a.start.mean]);
        }),
        settings(),
      );
    },
    timeoutFor(1),
  );

  it(
    'merging the fits of shards equals one fit over the shards in order (README: to 1e-12, relative)',
    () => {
      fc.assert(
        fc.property(momentum, fc.array(shard(C), { minLength: 1, maxLength: 5 }), (m, shards) => {
          const merged = mergeFits(shards.map((s) => fitOf(fit(C, m, undefined, s))));
          const one = new RunningStats(C, m);
          for (const s of shards) fit(C, m, undefined, s, one);
          const want = one.state();
          const tolerance = 1e-12 * magnitude(want, merged.end);
          expectStatesClose(merged.end, want, tolerance, 'merged vs one fit');
        }),
        settings(),
      );
    },
    timeoutFor(1),
  );
});
