/**
 * A rectangle of one instance's values: channels [firstChannel, firstChannel + channelCount)
 * by steps [firstStep, firstStep + stepCount), where channel c, step t of the instance is
 * values[offset + (c - firstChannel) * channelStride + (t - firstStep) * stepStride].
 *
 * Readers of every format produce blocks (NPY: channel-major pieces of a series; CSV: rows of
 * all channels, time-major), the core reads and writes them, writers consume them. What else a
 * block carries through the pipeline (pass-through columns, row text) is the formats' business:
 * see DataBlock in src/formats/types.ts.
 */
/** Values as the core reads and writes them: float32 data stays float32 (no copy); everything else is float64. */
export type Values = Float32Array | Float64Array;

export interface Block {
  /** Index of the instance in its input, from 0. */
  readonly instance: number;
  readonly values: Values;
  readonly offset: number;
  readonly channelStride: number;
  readonly stepStride: number;
  readonly firstChannel: number;
  readonly channelCount: number;
  readonly firstStep: number;
  readonly stepCount: number;
}

/** Index in `block.values` of the first value of channel c (absolute channel number). */
export function channelStart(block: Block, c: number): number {
  return block.offset + (c - block.firstChannel) * block.channelStride;
}

/** Index of the first NaN in the block, as [channel, step], or null. */
export function findNaN(block: Block): [number, number] | null {
  const { values, stepStride, stepCount } = block;
  for (let t = 0; t < stepCount; t++) {
    for (let c = block.firstChannel; c < block.firstChannel + block.channelCount; c++) {
      const x = values[channelStart(block, c) + t * stepStride]!;
      if (x !== x) return [c, block.firstStep + t];
    }
  }
  return null;
}
