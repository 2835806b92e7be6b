import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Block } from '../../src/core/block.js';
import { NormEngine } from '../../src/core/engine.js';
import { InstanceNorm1d } from '../../src/core/instance-norm.js';
import { type Momentum, RunningStats } from '../../src/core/running-stats.js';
import { DEFAULT_TABLE } from '../../src/formats/registry.js';
import { run } from '../../src/pipeline/run.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Textbook float64 formulas on small benign data: the reference. */
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const unbiasedVarianceOf = (xs: number[]) => {
  const m = meanOf(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
};
const present = (xs: number[]) => xs.filter((x) => !Number.isNaN(x));

/** Within a few units in the last place. */
function expectClose(got: number | undefined, want: number, ulps = 4): void {
  expect(got).toBeDefined();
  expect(Math.abs(got! - want)).toBeLessThanOrEqual(ulps * Number.EPSILON * Math.abs(want));
}

/** The example of the brief: series (0, 0) entirely missing. */
const X = [
  [
    [NaN, NaN, NaN, NaN],
    [1, 2, 3, 4],
  ],
  [
    [10, 20, 30, 40],
    [1, 2, 3, 4],
  ],
];
const flat = (x: number[][][]) => Float64Array.from(x.flat(2));

/** (N, C, L) through the engine as the pipeline drives NPY input under a small budget: one unit per channel, in pieces. */
function engineRun(x: number[][][], running: RunningStats, batchSize?: number, piece = 3): void {
  const channels = x[0]!.length;
  const steps = x[0]![0]!.length;
  const engine = new NormEngine({ channels, eps: 1e-5, training: true, running, batchSize, nan: 'ignore' });
  const values = flat(x);
  const out = new Float64Array(values.length);
  x.forEach((_, i) => {
    for (let c = 0; c < channels; c++) {
      if (c === 0) engine.startInstance();
      const pieces: Block[] = [];
      for (let t = 0; t < steps; t += piece) {
        pieces.push({
          instance: i,
          values,
          offset: (i * channels + c) * steps + t,
          channelStride: steps,
          stepStride: 1,
          firstChannel: c,
          channelCount: 1,
          firstStep: t,
          stepCount: Math.min(piece, steps - t),
        });
      }
      for (const b of pieces) engine.accumulate(b);
      engine.finishStatistics(c, 1, steps, () => `instance ${i}`);
      for (const b of pieces) engine.transform(b, out);
    }
    engine.finishInstance();
  });
  engine.finishBatch();
}

function writeNpy(file: string, shape: number[], data: Float64Array): void {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
}

describe('running statistics with --nan ignore', () => {
  it('leave an entirely missing series out of the batch averages', () => {
    const m = new InstanceNorm1d(2, { trackRunningStats: true, nan: 'ignore' });
    const y = m.forward({ shape: [2, 2, 4], data: flat(X) });
    expect(Array.from(y.data.subarray(0, 4)).every(Number.isNaN)).toBe(true);
    const s = m.stateDict();
    // Channel 0: instance 1 alone; channel 1: both instances.
    expectClose(s.running_mean![0], 0.9 * 0 + 0.1 * meanOf(X[1]![0]!));
    expectClose(s.running_var![0], 0.9 * 1 + 0.1 * unbiasedVarianceOf(X[1]![0]!));
    expectClose(s.running_mean![1], 0.9 * 0 + 0.1 * meanOf([meanOf(X[0]![1]!), meanOf(X[1]![1]!)]));
    expectClose(s.running_var![1], 0.9 * 1 + 0.1 * unbiasedVarianceOf(X[0]![1]!));
    expect(s.num_batches_tracked).toBe(1);
  });

  it('give the same running statistics from the library and from the engine driven like the pipeline', async () => {
    const library = new InstanceNorm1d(2, { trackRunningStats: true, nan: 'ignore' });
    library.forward({ shape: [2, 2, 4], data: flat(X) });
    const engineStats = new RunningStats(2, 0.1);
    engineRun(X, engineStats);
    expect(Array.from(engineStats.mean)).toEqual(library.stateDict().running_mean);
    expect(Array.from(engineStats.var)).toEqual(library.stateDict().running_var);

    const file = path.join(tmp.dir, 'missing-series.npy');
    writeNpy(file, [2, 2, 4], flat(X));
    const summary = await run({
      command: 'fit',
      inputs: [{ path: file }],
      training: true,
      trackRunningStats: true,
      eps: 1e-5,
      momentum: 0.1,
      nan: 'ignore',
      budget: 3,
      table: DEFAULT_TABLE,
      formatFlags: [],
    });
    expect(summary.stats?.running_mean).toEqual(library.stateDict().running_mean);
    expect(summary.stats?.running_var).toEqual(library.stateDict().running_var);
    expect(summary.stats?.num_batches_tracked).toBe(1);
    expectClose(summary.stats?.running_mean[0], 0.1 * meanOf(X[1]![0]!));
  });

  it('a single value counts for the mean but has no unbiased variance', () => {
    const x = [[[NaN, 5, NaN, NaN]], [[1, 2, 3, NaN]]];
    const m = new InstanceNorm1d(1, { trackRunningStats: true, nan: 'ignore' });
    const y = m.forward({ shape: [2, 1, 4], data: flat(x) });
    // Its own normalization: zero variance, a zero deviation.
    expect(y.data[1]).toBe(0);
    const s = m.stateDict();
    expectClose(s.running_mean![0], 0.1 * meanOf([5, meanOf([1, 2, 3])]));
    expectClose(s.running_var![0], 0.9 + 0.1 * unbiasedVarianceOf([1, 2, 3]));
  });

  it('with cumulative momentum, average each channel over the batches that had data for it', () => {
    // One instance per batch; channel 0 is missing in the second and fourth, a single value in the fifth.
    const x = [
      [
        [1, 2, 4, 8],
        [3, 1, 4, 1],
      ],
      [
        [NaN, NaN, NaN, NaN],
        [5, 9, 2, 6],
      ],
      [
        [-2, 0, 7, NaN],
        [5, 3, 5, 8],
      ],
      [
        [NaN, NaN, NaN, NaN],
        [9, 7, 9, 3],
      ],
      [
        [NaN, 6, NaN, NaN],
        [2, 3, 8, 4],
      ],
    ];
    const running = new RunningStats(2, 'cumulative');
    engineRun(x, running, 1);
    const series = (c: number) => x.map((inst) => present(inst[c]!)).filter((s) => s.length > 0);
    // The running update (1 - 1/k) * r + x / k rounds at each step: a few ulps from the plain average.
    const average = (xs: number[]) => meanOf(xs);
    expectClose(running.mean[0], average(series(0).map(meanOf)), 16);
    expectClose(
      running.var[0],
      average(
        series(0)
          .filter((s) => s.length > 1)
          .map(unbiasedVarianceOf),
      ),
      16,
    );
    expectClose(running.mean[1], average(series(1).map(meanOf)), 16);
    expectClose(running.var[1], average(series(1).map(unbiasedVarianceOf)), 16);
    expect(running.numBatchesTracked).toBe(5);
    expect(Array.from(running.meanUpdates)).toEqual([3, 5]);
    expect(Array.from(running.varUpdates)).toEqual([2, 5]);
  });

  it('loaded statistics start each channel at num_batches_tracked updates, or at the counts given', () => {
    const momentum: Momentum = 'cumulative';
    const m = new InstanceNorm1d(2, { trackRunningStats: true, nan: 'ignore', momentum });
    m.loadStateDict({ running_mean: [4, -1], running_var: [2, 3], num_batches_tracked: 3 });
    expect(Array.from(m.running!.meanUpdates)).toEqual([3, 3]);
    expect(Array.from(m.running!.varUpdates)).toEqual([3, 3]);
    const first = [
      [
        [NaN, NaN, NaN],
        [1, 2, 6],
      ],
    ];
    m.forward({ shape: [1, 2, 3], data: flat(first) });
    // Channel 0 keeps its values; channel 1 takes its fourth update (factor 1/4).
    expect(m.running!.mean[0]).toBe(4);
    expect(m.running!.var[0]).toBe(2);
    expectClose(m.running!.mean[1], (3 / 4) * -1 + (1 / 4) * 3);
    expectClose(m.running!.var[1], (3 / 4) * 3 + (1 / 4) * unbiasedVarianceOf([1, 2, 6]));
    const second = [
      [
        [2, 3, 10],
        [1, 2, 6],
      ],
    ];
    m.forward({ shape: [1, 2, 3], data: flat(second) });
    // Channel 0's fourth update (1/4), not the batch count's fifth.
    expectClose(m.running!.mean[0], (3 / 4) * 4 + (1 / 4) * 5);
    expect(m.running!.numBatchesTracked).toBe(5);
    expect(Array.from(m.running!.meanUpdates)).toEqual([4, 5]);
    // Loading statistics without num_batches_tracked keeps the counts.
    m.loadStateDict({ running_mean: [0, 0], running_var: [1, 1] });
    expect(Array.from(m.running!.meanUpdates)).toEqual([4, 5]);
    expect(m.running!.numBatchesTracked).toBe(5);

    const restored = new RunningStats(2, momentum, {
      mean: [0, 0],
      var: [1, 1],
      numBatchesTracked: 5,
      meanUpdates: [4, 5],
      varUpdates: [4, 5],
    });
    expect(Array.from(restored.meanUpdates)).toEqual([4, 5]);
    expect(Array.from(restored.varUpdates)).toEqual([4, 5]);
  });

  it('a batch with no data in any channel counts as a batch but changes no statistics', () => {
    const running = new RunningStats(1, 0.1);
    engineRun([[[NaN, NaN, NaN]]], running);
    expect(running.numBatchesTracked).toBe(1);
    expect(Array.from(running.mean)).toEqual([0]);
    expect(Array.from(running.var)).toEqual([1]);
    expect(Array.from(running.meanUpdates)).toEqual([0]);
  });
});
