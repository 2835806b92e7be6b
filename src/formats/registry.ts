import { TsnormError } from '../errors.js';
import { openOutput } from '../io/byte-sink.js';
import { openInput } from '../io/byte-source.js';
import { GunzipSource, gzipSink, isGzip } from '../io/gzip.js';
import { formatFromPath, sniffFormat } from './detect.js';
import type { FormatName, SeriesReader, SeriesWriter } from './types.js';

// Each format's modules (and their libraries) are loaded when that format is used: start-up
// stays light, and an NPY job never loads the CSV parser.

/** Options of the text formats (SPEC.md, Layouts). */
export interface CsvOptions {
  readonly layout: 'long' | 'wide';
  readonly id?: string | undefined;
  readonly channels?: readonly string[] | undefined;
  readonly keep?: readonly string[] | undefined;
  readonly numChannels?: number | undefined;
  /** The input's delimiter. Default: ',' for CSV, tab for TSV. */
  readonly delimiter?: string | undefined;
  /** The output's. Default: the input's when both are of one format (CSV to CSV), else the output format's. */
  readonly outputDelimiter?: string | undefined;
  readonly header: boolean;
  readonly precision?: number | undefined;
  /** Bytes of one instance held in memory before spilling. */
  readonly budgetBytes?: number | undefined;
}

export const DEFAULT_CSV: CsvOptions = { layout: 'long', header: true };

export interface ReaderOptions {
  readonly format?: FormatName | undefined;
  /** Most values held in memory per group (NPY). */
  readonly budget?: number | undefined;
  readonly csv?: CsvOptions | undefined;
  /** Rows are used as they arrive, without statistics (eval, convert): see CsvReaderOptions.live. */
  readonly live?: boolean | undefined;
}

export interface WriterOptions {
  readonly format: FormatName;
  /** The input's format: CSV written from CSV keeps the input's delimiter unless told otherwise. */
  readonly inputFormat: FormatName;
  readonly dtype: 'float32' | 'float64';
  readonly csv?: CsvOptions | undefined;
}

export interface OpenedReader {
  readonly reader: SeriesReader;
  readonly format: FormatName;
}

function delimiterOf(format: FormatName, csv: CsvOptions): string {
  return csv.delimiter ?? (format === 'tsv' ? '\t' : ',');
}

function outputDelimiterOf(format: FormatName, inputFormat: FormatName, csv: CsvOptions): string {
  return csv.outputDelimiter ?? (format === inputFormat ? delimiterOf(format, csv) : format === 'tsv' ? '\t' : ',');
}

/**
 * Opens an input path (or `-`) with the reader of its format: as given, else by extension, else
 * by content. gzip-compressed input is recognized by its magic bytes and decompressed on the fly.
 */
export async function openReader(file: string, options: ReaderOptions = {}): Promise<OpenedReader> {
  let src = await openInput(file);
  try {
    if (await isGzip(src)) src = new GunzipSource(src);
    const format = options.format ?? formatFromPath(file) ?? (await sniffFormat(src));
    const csv = options.csv ?? DEFAULT_CSV;
    switch (format) {
      case 'npy': {
        const { NpyReader } = await import('./npy/reader.js');
        return { reader: await NpyReader.open(src, { budget: options.budget }), format };
      }
      case 'csv':
      case 'tsv': {
        const common = { ...csv, delimiter: delimiterOf(format, csv), live: options.live };
        if (csv.layout === 'wide') {
          const { WideCsvReader } = await import('./csv/wide-reader.js');
          return { reader: await WideCsvReader.open(src, common), format };
        }
        const { LongCsvReader } = await import('./csv/long-reader.js');
        return { reader: await LongCsvReader.open(src, common), format };
      }
      default:
        throw new TsnormError(`${src.name}: ${format.toUpperCase()} input is not supported yet (supported: npy, csv, tsv)`);
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

/** Opens an output path (or `-`); a path ending in .gz is gzip-compressed. */
export async function openWriter(file: string, options: WriterOptions): Promise<SeriesWriter> {
  if (options.format === 'arrow') throw new TsnormError(`${file}: ARROW output is not supported yet (supported: npy, csv, tsv)`);
  let sink = await openOutput(file);
  if (options.format === 'npy' && sink.isTerminal) {
    await sink.abort();
    throw new TsnormError(`${sink.name}: not writing binary NPY data to a terminal: redirect stdout (> out.npy), pipe it, or give -o FILE (or --to csv to read it)`);
  }
  if (file.toLowerCase().endsWith('.gz')) sink = gzipSink(sink);
  if (options.format === 'npy') {
    const { NpyWriter } = await import('./npy/writer.js');
    return new NpyWriter(sink, options.dtype === 'float32' ? '<f4' : '<f8');
  }
  const csv = options.csv ?? DEFAULT_CSV;
  const { CsvWriter } = await import('./csv/writer.js');
  return new CsvWriter(sink, { delimiter: outputDelimiterOf(options.format, options.inputFormat, csv), precision: csv.precision, header: csv.header });
}
