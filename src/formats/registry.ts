import { TsnormError } from '../errors.js';
import { openOutput } from '../io/byte-sink.js';
import { type ByteSource, isGzip, openInput } from '../io/byte-source.js';
import { MeteredSource } from '../io/read-meter.js';
import { formatFromPath, sniffFormat } from './detect.js';
import type { ReaderOptions, WriterOptions } from './format.js';
import { formatOf } from './formats.js';
import type { FormatName, SeriesReader, SeriesWriter } from './types.js';

export { DEFAULT_TABLE, PASS_TYPES, type PassType, type ReaderOptions, type TableOptions, type WriterOptions } from './format.js';

// Each format's modules (and their libraries) are loaded when that format is used: start-up
// stays light, an NPY job never loads the CSV parser, and nothing but Arrow loads apache-arrow.

export interface OpenedReader {
  readonly reader: SeriesReader;
  readonly format: FormatName;
}

/**
 * Opens an input path (or `-`) with the reader of its format: as given, else by extension, else
 * by content. gzip-compressed input is recognized by its magic bytes and decompressed on the fly.
 */
export async function openReader(file: string, options: ReaderOptions = {}): Promise<OpenedReader> {
  let src: ByteSource = await (options.openInput ?? openInput)(file);
  if (options.meter) src = new MeteredSource(src, options.meter);
  try {
    // zlib and streams are loaded for gzip only: a plain file's start-up does not pay for them.
    if (await isGzip(src)) src = new (await import('../io/gzip.js')).GunzipSource(src);
    const format = options.format ?? formatFromPath(file) ?? (await sniffFormat(src));
    return { reader: await formatOf(format).openReader(src, options), format };
  } catch (err) {
    await src.close();
    throw err;
  }
}

/** The output format: as given, else by the output's extension, else the input's. */
export function outputFormat(file: string, given: FormatName | undefined, inputFormat: FormatName): FormatName {
  const format = given ?? formatFromPath(file) ?? inputFormat;
  // Arrow to stdout is the stream format (a file needs its footer written after everything).
  return format === 'arrow' && file === '-' && given === undefined ? 'arrows' : format;
}

/** Opens an output path (or `-`); a path ending in .gz is gzip-compressed. */
export async function openWriter(file: string, options: WriterOptions): Promise<SeriesWriter> {
  let sink = await openOutput(file);
  const format = formatOf(options.format);
  if (format.binary && sink.isTerminal) {
    await sink.abort();
    throw new TsnormError(
      `${sink.name}: not writing binary ${options.format.toUpperCase()} data to a terminal: redirect stdout (> out.${options.format}), pipe it, or give -o FILE (or --to csv to read it)`,
      'TSNORM_OUTPUT',
    );
  }
  if (file.toLowerCase().endsWith('.gz')) sink = (await import('../io/gzip.js')).gzipSink(sink);
  return format.openWriter(sink, options);
}
