import { NpyReader } from '../../src/formats/npy/reader.js';
import { openInput } from '../../src/io/byte-source.js';
import { channelStart } from '../../src/core/block.js';

export interface DenseArray {
  shape: number[];
  dtype: string;
  data: Float64Array;
}

/** Reads a whole (small) NPY file through the project's streaming reader, as float64 in C order. */
export async function readNpy(file: string, budget?: number): Promise<DenseArray> {
  const reader = await NpyReader.open(await openInput(file), budget === undefined ? {} : { budget });
  try {
    const { channels: c, instances: n = 1, steps: l = 0, unbatched } = reader.schema;
    const dtype = reader.dtype.descr;
    const data = new Float64Array(n * c * l);
    for await (const blocks of reader.blocks()) {
      for (const b of blocks) {
        for (let ch = b.firstChannel; ch < b.firstChannel + b.channelCount; ch++) {
          const from = channelStart(b, ch);
          for (let t = 0; t < b.stepCount; t++) data[(b.instance * c + ch) * l + b.firstStep + t] = b.values[from + t * b.stepStride]!;
        }
      }
    }
    return { shape: unbatched ? [c, l] : [n, c, l], dtype: dtype ?? '', data };
  } finally {
    await reader.close();
  }
}

/** Largest |got - want| / max(1, |want|), NaN where exactly one of them is NaN. */
export function maxRelativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(g) || Number.isNaN(w)) {
      if (Number.isNaN(g) !== Number.isNaN(w)) return NaN;
      continue;
    }
    worst = Math.max(worst, Math.abs(g - w) / Math.max(1, Math.abs(w)));
  }
  return worst;
}
