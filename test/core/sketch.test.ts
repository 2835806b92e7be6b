import { describe, expect, it } from 'vitest';
import { ChannelSketches, RELATIVE_ACCURACY, ValueSketch, distributionScores, histogramOf } from '../../src/core/sketch.js';

const sketchOf = (values: number[]): ValueSketch => {
  const s = new ValueSketch();
  s.add(values, 0, values.length, 1);
  return s;
};

describe('value sketch', () => {
  it('counts every finite value once, zero and tiny magnitudes as zero, NaN and infinities not at all', () => {
    const s = sketchOf([1, -1, 0, -0, 5e-324, NaN, Infinity, -Infinity, 1e300, -1e-300]);
    expect(s.count).toBe(7);
    expect(s.zero).toBe(3);
  });

  it('places each value in a bucket whose value is within the relative accuracy', () => {
    for (const x of [1e-300, 3.7e-5, 0.1, 1, 2, 12345.678, 9.9e307, -42, -1e-200]) {
      const [p] = sketchOf([x]).points();
      expect(Math.abs(p!.value - x) / Math.abs(x)).toBeLessThanOrEqual(RELATIVE_ACCURACY * (1 + 1e-12));
    }
  });

  it('merges exactly: shards merged equal one sketch of all values, in any order; a start taken away', () => {
    const values = Array.from({ length: 5000 }, (_, i) => Math.sin(i) * 10 ** ((i % 13) - 6) * (i % 3 ? 1 : -1));
    const whole = sketchOf(values).toJSON();
    const a = sketchOf(values.slice(0, 1234));
    const b = sketchOf(values.slice(1234));
    const ab = ValueSketch.fromJSON(a.toJSON());
    ab.merge(b);
    const ba = ValueSketch.fromJSON(b.toJSON());
    ba.merge(a);
    expect(ab.toJSON()).toEqual(whole);
    expect(ba.toJSON()).toEqual(whole);
    ab.merge(a, -1);
    expect(ab.toJSON()).toEqual(b.toJSON());
    expect(ab.consistent).toBe(true);
    ab.merge(a, -1);
    expect(ab.consistent).toBe(false);
  });

  it('writes runs of buckets, a gap of empty ones starting a new run, and reads them back', () => {
    // 1 and 1.006 are three buckets (0.2% each) apart: one run with the empty buckets between as zeros.
    const s = sketchOf([1, 1, 1.006, 1e10, -2]);
    const j = s.toJSON();
    expect(j.positive).toHaveLength(2);
    const first = j.positive[0]![1];
    expect([first[0], first.at(-1), first.slice(1, -1).every((n) => n === 0)]).toEqual([2, 1, true]);
    expect(first.length).toBeGreaterThanOrEqual(3);
    expect(first.length).toBeLessThanOrEqual(5);
    expect(ValueSketch.fromJSON(j).toJSON()).toEqual(j);
    const channels = new ChannelSketches(2);
    channels.channels[1]!.add([3, 4], 0, 2, 1);
    expect(ChannelSketches.fromJSON(channels.toJSON()).toJSON()).toEqual(channels.toJSON());
  });

  it('merges exactly whether keys sit in the dense window or far beyond it', () => {
    // 1 and 1e-300 are ~345,000 keys apart: the second is counted beyond the window of the first.
    const a = sketchOf([1, 1e-300, 2.5]);
    const b = sketchOf([1e-300, 3e-300, 1]);
    a.merge(b);
    expect(a.toJSON()).toEqual(sketchOf([1, 1e-300, 2.5, 1e-300, 3e-300, 1]).toJSON());
    expect(a.count).toBe(6);
  });

  it('values far apart (1e-300 and 1e300 in one channel) cost a few runs, not the buckets between', () => {
    const s = sketchOf([1e300, 1e-300, 1.5e-300, -1e300]);
    expect(JSON.stringify(s.toJSON()).length).toBeLessThan(200);
  });
});

describe('distribution scores', () => {
  it('zero for one distribution against itself', () => {
    const values = Array.from({ length: 1000 }, (_, i) => Math.cos(i));
    expect(distributionScores(sketchOf(values), sketchOf(values))).toEqual({ ks: 0, psi: 0, wasserstein: 0 });
  });

  it('disjoint distributions: KS 1; Wasserstein the distance between them in reference stds', () => {
    // Reference: 0 and 2 (std 1); incoming: 10 and 12. Every unit of mass moves 10.
    const scores = distributionScores(sketchOf([0, 2, 0, 2]), sketchOf([10, 12, 10, 12]))!;
    expect(scores.ks).toBe(1);
    // The buckets' values are within 1% of 2, 10 and 12.
    expect(Math.abs(scores.wasserstein - 10)).toBeLessThan(0.15);
    // PSI: the reference in bins 0 (none of it below 0) and 5 (half of it below 2), the incoming
    // in bin 9 (all of the reference below it); empty bins count as 1e-4.
    const psi = (p: number, q: number) => (q - p) * Math.log(q / p);
    expect(scores.psi).toBeCloseTo(psi(0.5, 1e-4) + psi(0.5, 1e-4) + psi(1e-4, 1), 10);
  });

  it('finite for values near the ends of float64', () => {
    const scores = distributionScores(sketchOf([1.7e308, -1.7e308, 1]), sketchOf([1.7e308, 1.7e308, 1]))!;
    expect(Number.isFinite(scores.wasserstein)).toBe(true);
    expect(scores.ks).toBeCloseTo(1 / 3, 12);
  });

  it('none without values', () => {
    expect(distributionScores(sketchOf([]), sketchOf([1]))).toBeUndefined();
  });
});

describe('histogram', () => {
  it('shares of each distribution in equal bins over the range both mostly cover', () => {
    const h = histogramOf(sketchOf([0, 1, 2, 3]), sketchOf([2, 3]), 4)!;
    expect(h.edges).toHaveLength(5);
    expect(h.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(h.incoming.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(h.incoming[0]).toBe(0);
    expect(histogramOf(undefined, sketchOf([5, 5]), 4)!.reference).toEqual([]);
  });
});
