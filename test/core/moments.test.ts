import { describe, expect, it } from 'vitest';
import { ChannelMoments } from '../../src/core/moments.js';
import { random } from '../helpers/random.js';

/** Mean and M2 by the textbook two-pass formula over exact float64 values, for comparison. */
function naive(xs: number[]): { mean: number; m2: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, m2: xs.reduce((a, x) => a + (x - mean) ** 2, 0) };
}

describe('ChannelMoments', () => {
  it('agrees with the two-pass formula on one chunk', () => {
    const r = random(1);
    const xs = Array.from({ length: 1001 }, () => r() * 10 - 3);
    const m = new ChannelMoments(1);
    m.add(0, Float64Array.from(xs), 0, xs.length, 1);
    const want = naive(xs);
    expect(m.count[0]).toBe(1001);
    expect(m.mean(0)).toBeCloseTo(want.mean, 13);
    expect(m.m2[0]! / want.m2).toBeCloseTo(1, 12);
  });

  it('gives a finite std where the variance overflows, and the same std as variance where both fit', () => {
    const r = random(9);
    const xs = Array.from({ length: 257 }, () => r() * 6 - 1);
    const k = 2 ** 700; // exact scaling: the std of k * xs is k times theirs
    const m = new ChannelMoments(2);
    m.add(0, Float64Array.from(xs), 0, xs.length, 1);
    m.add(
      1,
      Float64Array.from(xs, (x) => x * k),
      0,
      xs.length,
      1,
    );
    const want = Math.sqrt(naive(xs).m2 / xs.length);
    expect(m.std(0) / want).toBeCloseTo(1, 13);
    expect(m.std(0)).toBe(Math.sqrt(m.variance(0)));
    expect(m.variance(1)).toBe(Infinity);
    expect(m.std(1) / k / want).toBeCloseTo(1, 13);
  });

  it('gives the same result however the series is cut into chunks', () => {
    const r = random(2);
    const xs = Float64Array.from({ length: 5003 }, () => 1e6 + r());
    const whole = new ChannelMoments(1);
    whole.add(0, xs, 0, xs.length, 1);
    for (const cut of [1, 2, 7, 1000, 4096]) {
      const m = new ChannelMoments(1);
      for (let i = 0; i < xs.length; i += cut) m.add(0, xs, i, Math.min(cut, xs.length - i), 1);
      expect(m.count[0]).toBe(xs.length);
      expect(Math.abs(m.mean(0) - whole.mean(0))).toBeLessThan(1e-10);
      expect(m.variance(0) / whole.variance(0)).toBeCloseTo(1, 9);
    }
  });

  it('keeps digits far from zero where a float32 sum would not', () => {
    const r = random(3);
    const xs = Float64Array.from({ length: 3000 }, () => 1e6 + (r() - 0.5));
    // Every value lies in [2^19, 2^20), where float64's spacing is 2^-33: x * 2^33 is a whole
    // number, so the exact sum is a BigInt and the exact mean the rational exactSum / (n * 2^33).
    const unit = 2 ** 33;
    let exactSum = 0n;
    for (const x of xs) {
      expect(Number.isInteger(x * unit)).toBe(true);
      exactSum += BigInt(x * unit);
    }
    const n = xs.length;
    /** |v - exact mean|, computed exactly and rounded only at the end (v is also a multiple of 2^-33). */
    const errorOf = (v: number): number => {
      expect(Number.isInteger(v * unit)).toBe(true);
      const diff = BigInt(v * unit) * BigInt(n) - exactSum;
      return Math.abs(Number(diff)) / n / unit;
    };

    // A float32 running sum, rounded after every addition, of the values rounded to float32: near
    // 3e9 float32's spacing is 256, so the sum drifts by whole units.
    let sum32 = 0;
    for (const x of xs) sum32 = Math.fround(sum32 + Math.fround(x));
    const mean32 = Math.fround(sum32 / n);
    expect(errorOf(mean32)).toBeGreaterThan(1);

    const m = new ChannelMoments(1);
    m.add(0, xs, 0, xs.length, 1);
    // Within one float64 spacing at 1e6 (2^-33, about 1.2e-10) of the exact mean: 10 orders of
    // magnitude closer than the float32 sum.
    expect(errorOf(m.mean(0))).toBeLessThanOrEqual(2 ** -33);
    expect(errorOf(mean32) / Math.max(errorOf(m.mean(0)), 2 ** -60)).toBeGreaterThan(1e9);

    // The spread of the noise, taken without the offset (xs - 1e6 is exact: Sterbenz).
    const noise = Array.from(xs, (x) => x - 1e6);
    const want = naive(noise);
    expect(m.variance(0) / (want.m2 / n)).toBeCloseTo(1, 8);
  });

  it('reads strided (time-major) data', () => {
    const r = random(4);
    const c = 3;
    const l = 101;
    const rows = Float64Array.from({ length: c * l }, () => r());
    const m = new ChannelMoments(c);
    for (let ch = 0; ch < c; ch++) m.add(ch, rows, ch, l, c);
    for (let ch = 0; ch < c; ch++) {
      const series = Array.from({ length: l }, (_, t) => rows[t * c + ch]!);
      expect(m.mean(ch)).toBeCloseTo(naive(series).mean, 14);
      expect(m.m2[ch]! / naive(series).m2).toBeCloseTo(1, 12);
    }
  });

  it('gives a constant series exactly its value as mean and zero variance', () => {
    for (const v of [0.1, 1e6 + 0.1, -3.3, 0]) {
      const m = new ChannelMoments(1);
      const xs = new Float64Array(57).fill(v);
      m.add(0, xs, 0, 20, 1);
      m.add(0, xs, 20, 37, 1);
      expect(m.mean(0)).toBe(v);
      expect(m.m2[0]).toBe(0);
    }
  });

  it('propagates NaN by default, and skips it when asked', () => {
    const xs = Float64Array.of(1, 2, NaN, 4);
    const m = new ChannelMoments(1);
    m.add(0, xs, 0, 4, 1);
    expect(m.mean(0)).toBeNaN();
    const s = new ChannelMoments(1);
    s.add(0, xs, 0, 4, 1, true);
    expect(s.count[0]).toBe(3);
    expect(s.mean(0)).toBeCloseTo(7 / 3, 15);
    expect(s.variance(0)).toBeCloseTo(naive([1, 2, 4]).m2 / 3, 14);
  });

  it('gives unbiased variance with L - 1', () => {
    const m = new ChannelMoments(1);
    m.add(0, Float64Array.of(1, 2, 3, 4), 0, 4, 1);
    expect(m.unbiasedVariance(0)).toBeCloseTo(naive([1, 2, 3, 4]).m2 / 3, 15);
  });
});
