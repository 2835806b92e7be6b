import type { DataBlock, Schema } from '../../src/formats/types.js';

// Blocks made by hand for the pipeline's pieces (units, reshaping), and what they hold.

/** A schema of C channels, rows (time-major) or series (channel-major). */
export const schema = (orientation: 'rows' | 'series', channels: number, steps?: number): Schema => ({
  columns: [],
  channels,
  unbatched: false,
  valueType: 'float64',
  orientation,
  ...(steps === undefined ? {} : { steps }),
});

/** A block of rows (time-major): steps [firstStep, firstStep + n) of instance i, C channels, value = 100 i + 10 t + c. */
export function rows(i: number, firstStep: number, n: number, C: number): DataBlock {
  const values = Float64Array.from({ length: n * C }, (_, k) => 100 * i + 10 * (firstStep + Math.floor(k / C)) + (k % C));
  return { instance: i, values, offset: 0, channelStride: 1, stepStride: C, firstChannel: 0, channelCount: C, firstStep, stepCount: n };
}

/** A block of series (channel-major): channels [c0, c0 + cn), steps [t0, t0 + n) of instance i of L steps; the same values as `rows`. */
export function series(i: number, c0: number, cn: number, t0: number, n: number, L: number): DataBlock {
  const values = Float64Array.from({ length: cn * n }, (_, k) => 100 * i + 10 * (t0 + (k % n)) + c0 + Math.floor(k / n));
  return { instance: i, values, offset: 0, channelStride: n, stepStride: 1, firstChannel: c0, channelCount: cn, firstStep: t0, stepCount: n, instanceSteps: L };
}

/** Every (instance, channel, step) value the blocks hold. */
export function cells(blocks: Iterable<DataBlock>): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of blocks) {
    for (let c = 0; c < b.channelCount; c++) {
      for (let t = 0; t < b.stepCount; t++)
        out.set(`${b.instance}/${b.firstChannel + c}/${b.firstStep + t}`, b.values[b.offset + c * b.channelStride + t * b.stepStride]!);
    }
  }
  return out;
}
