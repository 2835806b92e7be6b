import { TsnormError } from '../errors.js';
import { openOutput } from '../io/byte-sink.js';
import { type ByteSource, isGzip, openInput } from '../io/byte-source.js';
import { MeteredSource, type ReadMeter } from '../io/read-meter.js';
import { formatFromPath, sniffFormat } from './detect.js';
import type { FormatName, SeriesReader, SeriesWriter } from './types.js';

// Each format's modules (and their libraries) are loaded when that format is used: start-up
// stays light, an NPY job never loads the CSV parser, and nothing but Arrow loads apache-arrow.

/** Layout options of the table formats (CSV/TSV, Arrow). */
export interface TableOptions {
  /** long: a row per time step (all formats); wide: a row per series (CSV/TSV); list: a row per instance (Arrow). */
  readonly layout: 'long' | 'wide' | 'list';
  /** Arrow output's layout (default: list for list input, else long). */
  readonly outputLayout?: 'long' | 'list' | undefined;
  readonly id?: string | undefined;
  readonly channels?: readonly string[] | undefined;
  readonly keep?: readonly string[] | undefined;
  /** CSV long layout: the types of pass-through columns, where the user declares them (--types). */
  readonly types?: ReadonlyMap<string, PassType> | undefined;
  readonly numChannels?: number | undefined;
  /** The input's delimiter. Default: ',' for CSV, tab for TSV. */
  readonly delimiter?: string | undefined;
  /** The output's. Default: the input's when both are of one format (CSV to CSV), else the output format's. */
  readonly outputDelimiter?: string | undefined;
  readonly header: boolean;
  readonly precision?: number | undefined;
}

/** The types --types may give a CSV column that passes through: each holds its values exactly, or refuses them. */
export const PASS_TYPES = ['int64', 'uint64', 'float64', 'utf8'] as const;
export type PassType = (typeof PASS_TYPES)[number];

export const DEFAULT_TABLE: TableOptions = { layout: 'long', header: true };

export interface ReaderOptions {
  readonly format?: FormatName | undefined;
  /** Most values held in memory per group (NPY). */
  readonly budget?: number | undefined;
  readonly table?: TableOptions | undefined;
  /** Rows are used as they arrive, without statistics (eval, convert): see the CSV reader's `live`. */
  readonly live?: boolean | undefined;
  /** A channel value float64 cannot hold exactly (an integer beyond 2^53) is an error (convert). */
  readonly exact?: boolean | undefined;
  /** Told how far the input has been read (a progress display). */
  readonly meter?: ReadMeter | undefined;
}

export interface WriterOptions {
  readonly format: FormatName;
  /** The input's format: CSV written from CSV keeps the input's delimiter unless told otherwise. */
  readonly inputFormat: FormatName;
  /** The output's value type; default: float64 for float64 input, float32 otherwise. */
  readonly dtype?: 'float32' | 'float64' | undefined;
  /** Channels keep the input's numeric type (convert), where no dtype is given. */
  readonly keepTypes?: boolean | undefined;
  readonly table?: TableOptions | undefined;
  readonly compression?: 'lz4' | 'zstd' | undefined;
  /** Threads the writer may use (CSV: a formatting worker with 2 or more). */
  readonly threads?: number | undefined;
  readonly offThreadAfter?: number | undefined;
}

export interface OpenedReader {
  readonly reader: SeriesReader;
  readonly format: FormatName;
}

function delimiterOf(format: FormatName, table: TableOptions): string {
  return table.delimiter ?? (format === 'tsv' ? '\t' : ',');
}

function outputDelimiterOf(format: FormatName, inputFormat: FormatName, table: TableOptions): string {
  return table.outputDelimiter ?? (format === inputFormat ? delimiterOf(format, table) : format === 'tsv' ? '\t' : ',');
}

/**
 * Opens an input path (or `-`) with the reader of its format: as given, else by extension, else
 * by content. gzip-compressed input is recognized by its magic bytes and decompressed on the fly.
 */
export async function openReader(file: string, options: ReaderOptions = {}): Promise<OpenedReader> {
  let src: ByteSource = await openInput(file);
  if (options.meter) src = new MeteredSource(src, options.meter);
  try {
    // zlib and streams are loaded for gzip only: a plain file's start-up does not pay for them.
    if (await isGzip(src)) src = new (await import('../io/gzip.js')).GunzipSource(src);
    const format = options.format ?? formatFromPath(file) ?? (await sniffFormat(src));
    const table = options.table ?? DEFAULT_TABLE;
    switch (format) {
      case 'npy': {
        const { NpyReader } = await import('./npy/reader.js');
        return { reader: await NpyReader.open(src, { budget: options.budget, exact: options.exact ?? false }), format };
      }
      case 'csv':
      case 'tsv': {
        if (table.layout === 'list') throw new TsnormError(`${src.name}: --layout list is for Arrow input; CSV/TSV layouts are long and wide`);
        const common = { ...table, delimiter: delimiterOf(format, table), live: options.live, exact: options.exact };
        if (table.layout === 'wide') {
          const { WideCsvReader } = await import('./csv/wide-reader.js');
          return { reader: await WideCsvReader.open(src, common), format };
        }
        const { LongCsvReader } = await import('./csv/long-reader.js');
        return { reader: await LongCsvReader.open(src, common), format };
      }
      case 'arrow':
      case 'arrows': {
        if (table.layout === 'wide') throw new TsnormError(`${src.name}: --layout wide is for CSV/TSV input; Arrow layouts are long and list`);
        const { openArrowReader } = await import('./arrow/reader.js');
        return { reader: await openArrowReader(src, { ...table, layout: table.layout, live: options.live ?? false, exact: options.exact ?? false }), format };
      }
    }
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
  const binary = options.format === 'npy' || options.format === 'arrow' || options.format === 'arrows';
  if (binary && sink.isTerminal) {
    await sink.abort();
    throw new TsnormError(`${sink.name}: not writing binary ${options.format.toUpperCase()} data to a terminal: redirect stdout (> out.${options.format}), pipe it, or give -o FILE (or --to csv to read it)`);
  }
  if (file.toLowerCase().endsWith('.gz')) sink = (await import('../io/gzip.js')).gzipSink(sink);
  const table = options.table ?? DEFAULT_TABLE;
  switch (options.format) {
    case 'npy': {
      const { NpyWriter } = await import('./npy/writer.js');
      return new NpyWriter(sink, options.dtype, options.keepTypes ?? false);
    }
    case 'arrow':
    case 'arrows': {
      const { ArrowWriter } = await import('./arrow/writer.js');
      return new ArrowWriter(sink, {
        stream: options.format === 'arrows', dtype: options.dtype, keepTypes: options.keepTypes ?? false, compression: options.compression,
        layout: table.outputLayout ?? (table.layout === 'list' ? 'list' : 'long'),
      });
    }
    case 'csv':
    case 'tsv': {
      const { CsvWriter } = await import('./csv/writer.js');
      return new CsvWriter(sink, { delimiter: outputDelimiterOf(options.format, options.inputFormat, table), precision: table.precision, header: table.header, threads: options.threads, offThreadAfter: options.offThreadAfter, keepTypes: options.keepTypes });
    }
  }
}
