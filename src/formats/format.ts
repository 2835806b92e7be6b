import type { ByteSink } from '../io/byte-sink.js';
import type { ByteSource } from '../io/byte-source.js';
import type { ReadMeter } from '../io/read-meter.js';
import type { FormatName, SeriesReader, SeriesWriter } from './types.js';

/**
 * What a file format is to the rest of tsnorm: one descriptor per format, in its own folder
 * (`src/formats/<name>/format.ts`), listed once in `formats.ts`. Detection (extensions, magic
 * bytes), the refusal of flags a format does not use, and opening readers and writers all derive
 * from the list. A descriptor is light: its reader and writer (and their libraries) are imported
 * when a file of that format is opened.
 */
export interface FormatDescriptor {
  readonly name: FormatName;
  /** Extensions that name it, lower case with the dot (a trailing .gz is looked through). */
  readonly extensions: readonly string[];
  /** Whether content that starts with these bytes is of this format (formats without magic bytes have none). */
  readonly sniff?: (head: Uint8Array) => boolean;
  /** Binary data, never written to a terminal. */
  readonly binary: boolean;
  /** The family whose flags it takes (flags.ts names the families a flag is for). */
  readonly family: FormatFamily;
  openReader(src: ByteSource, options: ReaderOptions): Promise<SeriesReader>;
  openWriter(sink: ByteSink, options: WriterOptions): Promise<SeriesWriter>;
}

/** Formats that take the same flags: text tables (CSV, TSV), Arrow IPC (file, stream), Parquet, NPY arrays. */
export type FormatFamily = 'text' | 'arrow' | 'parquet' | 'npy';

/** Layout options of the table formats (CSV/TSV, Arrow). */
export interface TableOptions {
  /** long: a row per time step (all formats); wide: a row per series (CSV/TSV); list: a row per instance (Arrow, Parquet). */
  readonly layout: 'long' | 'wide' | 'list';
  /** Arrow and Parquet output's layout (default: list for list input, else long). */
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

/** Every codec --compression names; each format takes some of them. */
export const OUTPUT_CODECS = ['zstd', 'lz4', 'snappy', 'gzip', 'brotli', 'none'] as const;
export type OutputCodec = (typeof OUTPUT_CODECS)[number];

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
  /** How a path becomes bytes (default: the file, or stdin for `-`): tests give a pipe of their own. */
  readonly openInput?: ((file: string) => Promise<ByteSource>) | undefined;
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
  /** The output's codec (--compression): Arrow takes lz4 and zstd, Parquet more. */
  readonly compression?: OutputCodec | undefined;
  /** Parquet: rows per row group. */
  readonly rowGroupSize?: number | undefined;
  /** Threads the writer may use (CSV: a formatting worker with 2 or more). */
  readonly threads?: number | undefined;
  readonly offThreadAfter?: number | undefined;
}
