import { describe, expect, it } from 'vitest';
import type { Block } from '../../src/core/block.js';
import { NormEngine } from '../../src/core/engine.js';
import { InstanceNorm1d } from '../../src/core/instance-norm.js';
import { ChannelMoments } from '../../src/core/moments.js';
import { random } from '../helpers/random.js';

/** x * 2^1074 as an exact integer (every finite double is a multiple of 2^-1074). */
function exactUnits(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const magnitude = biased === 0 ? fraction : (fraction | (1n << 52n)) << BigInt(biased - 1);
  return bits >> 63n ? -magnitude : magnitude;
}

/** |got - want| / |want| for exact integers, as a double. */
function relativeError(got: bigint, want: bigint): number {
  const diff = got > want ? got - want : want - got;
  const scale = want < 0n ? -want : want;
  return Number((diff * 10n ** 20n) / scale) / 1e20;
}

/** Each value's bit pattern, so that comparisons see -0 and every NaN payload. */
function bits(values: Float64Array): string[] {
  return Array.from(new BigUint64Array(values.buffer, values.byteOffset, values.length), (b) => b.toString(16));
}

/**
 * Normalizes one (C, L) instance through the engine as the pipeline drives it, the series cut
 * into blocks of `cut` steps, channel-major (NPY) or time-major (CSV rows).
 */
function normalizeInstance(
  series: Float64Array[],
  cut: number,
  layout: 'channel-major' | 'time-major',
  affine?: { weight: Float64Array; bias: Float64Array },
): Float64Array[] {
  const channels = series.length;
  const steps = series[0]!.length;
  const values = new Float64Array(channels * steps);
  const at = (c: number, t: number) => (layout === 'channel-major' ? c * steps + t : t * channels + c);
  series.forEach((s, c) =>
    s.forEach((x, t) => {
      values[at(c, t)] = x;
    }),
  );
  const blocks: Block[] = [];
  for (let t = 0; t < steps; t += cut) {
    blocks.push({
      instance: 0,
      values,
      offset: at(0, t),
      channelStride: layout === 'channel-major' ? steps : 1,
      stepStride: layout === 'channel-major' ? 1 : channels,
      firstChannel: 0,
      channelCount: channels,
      firstStep: t,
      stepCount: Math.min(cut, steps - t),
    });
  }
  const engine = new NormEngine({ channels, eps: 1e-5, affine, training: true, nan: 'propagate' });
  const out = new Float64Array(values.length);
  engine.startInstance();
  for (const b of blocks) engine.accumulate(b);
  engine.finishStatistics(0, channels, steps, () => 'test');
  for (const b of blocks) engine.transform(b, out);
  return series.map((_, c) => Float64Array.from({ length: steps }, (_, t) => out[at(c, t)]!));
}

function forward(xs: number[], options: { weight?: number; bias?: number; nan?: 'propagate' | 'ignore' } = {}): Float64Array {
  const m = new InstanceNorm1d(1, { affine: options.weight !== undefined, nan: options.nan ?? 'propagate' });
  if (options.weight !== undefined) m.loadStateDict({ weight: [options.weight], bias: [options.bias ?? 0] });
  return m.forward({ shape: [1, xs.length], data: Float64Array.from(xs) }).data;
}

/** Within `ulps` units in the last place of `want`. */
function expectClose(got: number, want: number, ulps = 2): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(ulps * Number.EPSILON * Math.abs(want));
}

describe('values whose squares overflow float64', () => {
  it('normalize x * 2^k exactly as x * 2^40 (power-of-two scaling is exact), at several chunkings', () => {
    const r = random(11);
    const steps = 37;
    // The second channel sits far from zero: its mean's low part matters.
    const base = [Float64Array.from({ length: steps }, () => r() * 8 - 3), Float64Array.from({ length: steps }, () => 100 + r())];
    const affine = { weight: Float64Array.of(1.5, -0.75), bias: Float64Array.of(0.25, 2) };
    const scaled = (k: number) => base.map((s) => s.map((x) => x * 2 ** k));
    for (const layout of ['channel-major', 'time-major'] as const) {
      for (const cut of [1, 2, 3, 5, 16, steps]) {
        // At 2^40 eps (1e-5) is far below half an ulp of the variance: it drops out, as at any larger k.
        const want = normalizeInstance(scaled(40), cut, layout, affine);
        for (const k of [200, 511, 512, 513, 600, 900, 1000, 1015]) {
          const got = normalizeInstance(scaled(k), cut, layout, affine);
          for (let c = 0; c < base.length; c++) {
            expect(bits(got[c]!), `k = ${k}, cut = ${cut}, ${layout}, channel ${c}`).toEqual(bits(want[c]!));
          }
        }
      }
    }
  });

  it('gives [1e155, -1e155, 1e155, -1e155] the exact answer +-1 (times weight, plus bias)', () => {
    const y = forward([1e155, -1e155, 1e155, -1e155]);
    [1, -1, 1, -1].forEach((want, i) => expectClose(y[i]!, want));
    const a = forward([1e155, -1e155, 1e155, -1e155], { weight: 3, bias: 0.5 });
    [3.5, -2.5, 3.5, -2.5].forEach((want, i) => expectClose(a[i]!, want));
  });

  it('normalizes values near the largest double, where sums and x - mean overflow too', () => {
    const y = forward([1.7e308, -1.7e308, 1.7e308, -1.7e308]);
    [1, -1, 1, -1].forEach((want, i) => expectClose(y[i]!, want));
    // mean a/3, deviations (2a/3, -4a/3, 2a/3), biased variance 8a^2/9: (1/sqrt(2), -sqrt(2), 1/sqrt(2)).
    const z = forward([1.7e308, -1.7e308, 1.7e308]);
    [Math.SQRT1_2, -Math.SQRT2, Math.SQRT1_2].forEach((want, i) => expectClose(z[i]!, want, 4));
    const top = Number.MAX_VALUE;
    const w = forward([top, -top, top, -top, top, -top]);
    [1, -1, 1, -1, 1, -1].forEach((want, i) => expectClose(w[i]!, want));
  });

  it('a constant series of huge values (the sum overflows) is exactly the bias', () => {
    expect(Array.from(forward([1.7e308, 1.7e308, 1.7e308], { weight: 2, bias: 0.25 }))).toEqual([0.25, 0.25, 0.25]);
  });

  it('merges pieces of very different size exactly (Chan, pieces with different exponents)', () => {
    const pieces = [[1, 2, 3], [1e200, -1e200], [7], [-3e300, 5e299, 1.5e300], [0.5, 1e150], [2e-300]];
    const m = new ChannelMoments(1);
    for (const p of pieces) m.add(0, Float64Array.from(p), 0, p.length, 1);
    const xs = pieces.flat();
    const n = BigInt(xs.length);
    const sum = xs.reduce((a, x) => a + exactUnits(x), 0n);
    const sumSquares = xs.reduce((a, x) => a + exactUnits(x) ** 2n, 0n);
    // n * M2 = n * sum(x^2) - sum(x)^2, in units of 2^-2148.
    const nM2 = n * sumSquares - sum * sum;
    const e = m.scaleExponent[0]!;
    const gotM2 = exactUnits(m.m2[0]!) << BigInt(1074 + 2 * e);
    expect(m.count[0]).toBe(xs.length);
    expect(relativeError(n * gotM2, nM2)).toBeLessThan(1e-15);
    expect(relativeError(n * exactUnits(m.mean(0)), sum)).toBeLessThan(1e-15);
    // The variance itself (about 2e600) is beyond float64.
    expect(m.variance(0)).toBe(Infinity);
  });

  it('keeps a variance that fits in float64 although the sum of squares does not', () => {
    const m = new ChannelMoments(1);
    const xs = Float64Array.of(1e154, -1e154, 1e154, -1e154);
    m.add(0, xs, 0, 2, 1);
    m.add(0, xs, 2, 2, 1);
    // By scaling: the variance of xs * 2^-512, times 2^1024 (in two steps, each exact).
    const small = Array.from(xs, (x) => x * 2 ** -512);
    const want = (small.reduce((a, x) => a + x * x, 0) / 4) * 2 ** 512 * 2 ** 512;
    expectClose(m.variance(0), want);
    expectClose(m.unbiasedVariance(0), (want * 4) / 3, 4);
  });

  it('keeps NaN and infinities as before: NaN propagates per series, infinity gives NaN', () => {
    expect(Array.from(forward([1e155, NaN, -1e155, 1e155]), Number.isNaN)).toEqual([true, true, true, true]);
    expect(Array.from(forward([1e155, Infinity, -1e155, 1e155]), Number.isNaN)).toEqual([true, true, true, true]);
    expect(Array.from(forward([1.7e308, -1.7e308, -Infinity, 1]), Number.isNaN)).toEqual([true, true, true, true]);
    const ignored = forward([1e155, NaN, -1e155, 1e155, -1e155], { nan: 'ignore' });
    expect(ignored[1]).toBeNaN();
    [1, -1, 1, -1].forEach((want, i) => expectClose(ignored[i < 1 ? 0 : i + 1]!, want));
  });

  it('running statistics of such data: the variance overflows to Infinity, nothing throws', () => {
    const m = new InstanceNorm1d(2, { trackRunningStats: true });
    const y = m.forward({ shape: [1, 2, 4], data: Float64Array.of(1e155, -1e155, 1e155, -1e155, 1e154, -1e154, 1e154, -1e154) });
    [1, -1, 1, -1].forEach((want, i) => expectClose(y.data[i]!, want));
    const s = m.stateDict();
    expect(s.running_mean).toEqual([0, 0]);
    expect(s.running_var![0]).toBe(Infinity);
    // The unbiased variance of +-1e154 (4e308 / 3) still fits: 0.9 * 1 + 0.1 * it.
    const small = [1, -1, 1, -1].map((x) => x * 1e154 * 2 ** -512);
    const unbiased = (small.reduce((a, x) => a + x * x, 0) / 3) * 2 ** 512 * 2 ** 512;
    expectClose(s.running_var![1]!, 0.9 + 0.1 * unbiased, 4);
  });
});
