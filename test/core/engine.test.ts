import { describe, expect, it } from 'vitest';
import type { Block } from '../../src/core/block.js';
import { type NanPolicy, NormEngine } from '../../src/core/engine.js';
import { RunningStats } from '../../src/core/running-stats.js';
import { random } from '../helpers/random.js';

const N = 4;
const C = 3;
const L = 6;

/** (N, C, L) values with a NaN or an infinity in some series, and the number of such series. */
function input(): { values: Float64Array; spoiled: number } {
  const r = random(21);
  const values = Float64Array.from({ length: N * C * L }, () => r() * 4 - 2);
  const at = (n: number, c: number, t: number) => (n * C + c) * L + t;
  values[at(0, 1, 3)] = NaN;
  values[at(2, 0, 0)] = NaN;
  values[at(2, 0, 5)] = NaN;
  values[at(2, 2, 4)] = Infinity;
  values.fill(NaN, at(3, 1, 0), at(3, 1, L));
  let spoiled = 0;
  for (let q = 0; q < N * C; q++) if (values.subarray(q * L, (q + 1) * L).some((x) => !Number.isFinite(x))) spoiled++;
  return { values, spoiled };
}

/** One instance's channels [first, first + count) as one block. */
function block(values: Float64Array, n: number, first: number, count: number): Block {
  return {
    instance: n,
    values,
    offset: (n * C + first) * L,
    channelStride: L,
    stepStride: 1,
    firstChannel: first,
    channelCount: count,
    firstStep: 0,
    stepCount: L,
  };
}

/**
 * Drives the engine as the pipeline does: per instance, units of `unit` channels, each accumulated,
 * finished and transformed; `again` finishes the statistics of each unit a second time.
 */
function normalize(engine: NormEngine, values: Float64Array, unit: number, again = false): Float64Array {
  const out = new Float64Array(values.length);
  for (let n = 0; n < N; n++) {
    for (let first = 0; first < C; first += unit) {
      if (first === 0) engine.startInstance();
      const count = Math.min(unit, C - first);
      const b = block(values, n, first, count);
      if (engine.usesInstanceStats) {
        engine.accumulate(b);
        engine.finishStatistics(first, count, L, () => `instance ${n}`);
        if (again) engine.finishStatistics(first, count, L, () => `instance ${n}`);
      }
      engine.transform(b, out);
    }
    engine.finishInstance();
  }
  engine.finishBatch();
  return out;
}

const settings = (nan: NanPolicy, training = true, running?: RunningStats) => ({ channels: C, eps: 1e-5, training, running, nan });

describe('NormEngine.nanSeries', () => {
  it.each([1, 2, C])('counts the series that NaN (or an infinity) blanked, units of %i channels', (unit) => {
    const { values, spoiled } = input();
    const engine = new NormEngine(settings('propagate'));
    expect(engine.nanSeries).toBe(0);
    const out = normalize(engine, values, unit);
    expect(engine.nanSeries).toBe(spoiled);
    // They are exactly the all-NaN series of the output.
    let blank = 0;
    for (let q = 0; q < N * C; q++) if (out.subarray(q * L, (q + 1) * L).every(Number.isNaN)) blank++;
    expect(blank).toBe(spoiled);
  });

  it('counts each series once when its statistics are finished more than once', () => {
    const { values, spoiled } = input();
    const engine = new NormEngine(settings('propagate'));
    normalize(engine, values, 2, true);
    expect(engine.nanSeries).toBe(spoiled);
  });

  it('counts only the series an infinity blanked when missing values are ignored, and nothing without instance statistics', () => {
    const { values } = input();
    const ignoring = new NormEngine(settings('ignore'));
    const out = normalize(ignoring, values, C);
    const series = (a: Float64Array, q: number) => a.subarray(q * L, (q + 1) * L);
    const infinite = Array.from({ length: N * C }, (_, q) => q).filter((q) => series(values, q).some((x) => x === Infinity || x === -Infinity));
    expect(infinite.length).toBe(1);
    expect(ignoring.nanSeries).toBe(infinite.length);
    // The all-NaN series of the output: those, and the series that had no value to begin with.
    const blank = Array.from({ length: N * C }, (_, q) => q).filter((q) => series(out, q).every(Number.isNaN));
    const empty = Array.from({ length: N * C }, (_, q) => q).filter((q) => series(values, q).every(Number.isNaN));
    expect(blank).toEqual([...infinite, ...empty].sort((a, b) => a - b));
    const evaluating = new NormEngine(settings('propagate', false, new RunningStats(C, 0.1)));
    normalize(evaluating, values, C);
    expect(evaluating.usesInstanceStats).toBe(false);
    expect(evaluating.nanSeries).toBe(0);
  });
});
