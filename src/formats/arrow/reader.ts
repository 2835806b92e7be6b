import { TsnormError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import type { SeriesReader } from '../types.js';

export async function openArrowReader(src: ByteSource, _options: unknown): Promise<SeriesReader> {
  throw new TsnormError(`${src.name}: Arrow input is not built yet`);
}
