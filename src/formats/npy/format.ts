import type { FormatDescriptor } from '../format.js';
import { NPY_MAGIC } from './header.js';

/** NumPy's .npy: one array, (N, C, L) or (C, L). */
export const npy: FormatDescriptor = {
  name: 'npy',
  extensions: ['.npy'],
  sniff: (head) => NPY_MAGIC.every((b, i) => head[i] === b),
  binary: true,
  family: 'npy',
  async openReader(src, options) {
    const { NpyReader } = await import('./reader.js');
    return NpyReader.open(src, { budget: options.budget, exact: options.exact ?? false });
  },
  async openWriter(sink, options) {
    const { NpyWriter } = await import('./writer.js');
    return new NpyWriter(sink, options.dtype, options.keepTypes ?? false);
  },
};
