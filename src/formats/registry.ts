import { TsnormError } from '../errors.js';
import { openOutput } from '../io/byte-sink.js';
import { openInput } from '../io/byte-source.js';
import { formatFromPath, sniffFormat } from './detect.js';
import { NpyReader } from './npy/reader.js';
import { NpyWriter } from './npy/writer.js';
import type { FormatName, SeriesReader, SeriesWriter } from './types.js';

export interface ReaderOptions {
  readonly format?: FormatName | undefined;
  /** Most values held in memory per group. */
  readonly budget?: number | undefined;
}

export interface WriterOptions {
  readonly format: FormatName;
  readonly dtype: 'float32' | 'float64';
}

/** Opens an input path (or `-`) with the reader of its format: as given, else by extension, else by content. */
export async function openReader(file: string, options: ReaderOptions = {}): Promise<SeriesReader> {
  const src = await openInput(file);
  try {
    const format = options.format ?? formatFromPath(file) ?? (await sniffFormat(src));
    switch (format) {
      case 'npy':
        return await NpyReader.open(src, { budget: options.budget });
      default:
        throw new TsnormError(`${src.name}: ${format.toUpperCase()} input is not supported yet (supported: npy)`);
    }
  } catch (err) {
    await src.close();
    throw err;
  }
}

/** The output format: as given, else by the output's extension, else the input's. */
export function outputFormat(file: string, given: FormatName | undefined, inputFormat: FormatName): FormatName {
  return given ?? formatFromPath(file) ?? inputFormat;
}

export async function openWriter(file: string, options: WriterOptions): Promise<SeriesWriter> {
  if (options.format !== 'npy') throw new TsnormError(`${file}: ${options.format.toUpperCase()} output is not supported yet (supported: npy)`);
  const sink = await openOutput(file);
  return new NpyWriter(sink, options.dtype === 'float32' ? '<f4' : '<f8');
}

/** The format name of an open reader, for defaulting the output format. */
export function readerFormat(reader: SeriesReader): FormatName {
  if (reader instanceof NpyReader) return 'npy';
  return 'csv';
}
