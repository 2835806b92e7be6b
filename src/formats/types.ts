import type { Block } from '../core/block.js';

/**
 * The contract between readers, the pipeline and writers. A reader declares a schema (its columns,
 * typed, each with a role) and yields blocks in input order: channel values plus the pass-through
 * columns aligned to the block's rows. The pipeline, not the formats, groups blocks into whole
 * instances, spills what does not fit in memory, and re-blocks into the orientation a writer
 * takes. No format knows another: a writer sees only this contract.
 */

/** Element types, named as numpy and Arrow name them. `list` holds a list of values per cell. */
export type ElementType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'utf8'
  | 'timestamp'
  | 'date'
  | 'list'
  | 'other';

export type TimeUnit = 's' | 'ms' | 'us' | 'ns';

/** A list type as Arrow has them: 32-bit offsets, 64-bit offsets, or `size` values each. */
export interface ListShape {
  readonly kind: 'list' | 'large_list' | 'fixed_size_list';
  readonly size?: number | undefined;
}

export interface ColumnSpec {
  readonly name: string;
  readonly type: ElementType;
  /** channel: normalized values; id: names the instance of each row; pass: carried through unchanged. */
  readonly role: 'channel' | 'id' | 'pass';
  /** For timestamps: the unit of the integer values. */
  readonly unit?: TimeUnit | undefined;
  /** For timestamps: the time zone, if any. */
  readonly timezone?: string | undefined;
  /** For lists: the element type. */
  readonly element?: ElementType | undefined;
  /** For lists: how the input stores them (Arrow's list, large_list or fixed_size_list), to be written back the same way. */
  readonly list?: ListShape | undefined;
  /** For lists of lists: how the inner lists are stored. */
  readonly innerList?: ListShape | undefined;
  /**
   * Made up rather than read (NPY has no such columns): the instance's index, or the step's.
   * Blocks carry no data for it; whoever writes it computes it.
   */
  readonly generated?: 'instance' | 'step' | undefined;
  /** Key-value metadata the input's format keeps with the column (Arrow's field metadata): written back where the output can hold it. */
  readonly metadata?: ReadonlyMap<string, string> | undefined;
}

/**
 * The channel columns in channel order: a block's channel c is the column named channelNames[c]
 * (the order --channels gives), which need not be the columns' order in the input. Writers that
 * lay out columns in the input's order find each channel column's values through this.
 */
export function channelColumns(schema: Pick<Schema, 'columns' | 'channelNames'>): ColumnSpec[] {
  const inOrder = schema.columns.filter((c) => c.role === 'channel');
  const names = schema.channelNames;
  if (!names || names.length !== inOrder.length) return inOrder;
  return names.map((n) => inOrder.find((c) => c.name === n) ?? inOrder[names.indexOf(n)]!);
}

/** Each channel column's index among the channels (see channelColumns). */
export function channelIndexOf(schema: Pick<Schema, 'columns' | 'channelNames'>): Map<ColumnSpec, number> {
  return new Map(channelColumns(schema).map((c, k) => [c, k]));
}

/** How a reader's blocks are laid out: rows of all channels (time-major), or series (channel-major). */
export type Orientation = 'rows' | 'series';

/** What a reader knows before the values, and what a writer needs to start. */
export interface Schema {
  /** Every column, in the input's order (channels among them). */
  readonly columns: readonly ColumnSpec[];
  readonly channels: number;
  /** Channel names, when the format has them. */
  readonly channelNames?: readonly string[] | undefined;
  /** Number of instances, when known up front. */
  readonly instances?: number | undefined;
  /** Length of every instance, when they all have the same and it is known up front. */
  readonly steps?: number | undefined;
  /** (C, L) input: one instance without a batch dimension. */
  readonly unbatched: boolean;
  /** Element type of the channel values in the input. */
  readonly valueType: ElementType;
  readonly orientation: Orientation;
  /** List layout: the one column that holds all channels as a list of lists (else a column per channel). */
  readonly nestedChannels?: string | undefined;
  /** The input's text dialect, when blocks carry the rows' original text (see RowText). */
  readonly textDialect?: TextDialect | undefined;
  /** How messages name instance i when the format has more to say than its index (an id). */
  describeInstance?(instance: number): string;
  /** Instance i's id, as text (UTF-8), when the input has ids. */
  instanceId?(instance: number): string | undefined;
  /** Key-value metadata of the whole input (Arrow's schema metadata: pandas', units, ...): written back where the output can hold it. */
  readonly metadata?: ReadonlyMap<string, string> | undefined;
}

/** A CSV/TSV dialect: what a text writer needs to write rows back byte for byte. */
export interface TextDialect {
  readonly delimiter: string;
  readonly terminator: '\n' | '\r\n';
  readonly bom: boolean;
  /** The header row as read (a byte string: one character per byte), if there was one. */
  readonly headerRaw: string | undefined;
  /** Column index of each value cell of a row, in order: the channels (long), or the steps (wide). */
  readonly valueColumns: readonly number[];
  readonly columnCount: number;
  /** wide: a row is a series (its cells are steps); long: a row is a time step (its cells are channels). */
  readonly rowsAre: 'steps' | 'series';
}

/** A cell of a pass-through column: typed, null when missing; lists as arrays. */
export type CellValue = number | bigint | string | boolean | null | readonly CellValue[];

/** One pass-through column over a block's rows. */
export interface PassColumn {
  readonly length: number;
  /** The value of row i, as the column's type says (int64 as bigint or number, timestamps as integers in their unit). */
  value(i: number): CellValue;
  /** Row i as (Unicode) text, for text formats: as the source wrote it when it was text; '' when missing. */
  text(i: number): string;
  /** Row i's list as a column of its elements, in their own type (a list spread over rows). */
  elements?(i: number): PassColumn | undefined;
}

/**
 * The original text of a block's rows (text inputs), as bytes: a text writer with the same
 * dialect writes them back with only the channel cells replaced.
 */
export interface RowText {
  /** The rows' bytes (possibly with other rows around them: a whole read's). */
  readonly bytes: Uint8Array;
  /** [start, end) in bytes of each row, without its line terminator: two entries a row. */
  readonly records: Int32Array;
  /** 1-based line number of each row, for messages. */
  readonly lines: Int32Array;
  /** Cell spans in bytes, `columns` [start, end) pairs per row. */
  readonly spans: Int32Array;
  readonly columns: number;
  /** Index in records of the block's first row, and the block's number of rows. */
  readonly first: number;
  readonly count: number;
}

/**
 * A block as readers yield it and writers take it: the core's rectangle of values, plus for
 * blocks of rows the pass-through columns (one per non-channel column of the schema that is not
 * generated, in schema order) and, from text inputs, the rows' text. A series block (channel-major)
 * of a whole instance may carry `instancePass`: one value per such column for the whole instance.
 */
export interface DataBlock extends Block {
  /**
   * Pass-through columns. Their buffers are never refilled by the reader (unlike values when
   * `reusesBuffers`): a writer may still be writing them after its write() resolved (see
   * SeriesWriter.write), and only `release` gives them back.
   */
  readonly pass?: readonly PassColumn[] | undefined;
  readonly rows?: RowText | undefined;
  /** Steps of the whole instance, when a series reader knows it (instances may differ in length). */
  readonly instanceSteps?: number | undefined;
  readonly instancePass?: readonly CellValue[] | undefined;
  /**
   * The same per-instance values as one-row columns of the input's own types, where the format
   * has them (Arrow's list layout): a writer of that format writes them as they are, and their
   * text is the format's (a decimal as 1.50, not its words).
   */
  readonly instanceColumns?: readonly PassColumn[] | undefined;
  /**
   * Gives the block's arrays (values, row text) back to the reader for reuse: called once, by
   * the pipeline, when nothing will read them again (see WriterNeeds.doneOnWrite). A block never
   * released is collected as garbage instead.
   */
  readonly release?: (() => void) | undefined;
}

/** A reader of one input. */
export interface SeriesReader {
  readonly name: string;
  readonly schema: Schema;
  /**
   * Blocks in input order, a group at a time. Blocks of one instance are contiguous; series
   * blocks of an instance come channel by channel, each series in step order. Values arrays are
   * valid until the next group is asked for when `reusesBuffers`.
   */
  blocks(): AsyncIterable<readonly DataBlock[]>;
  readonly reusesBuffers: boolean;
  /** Whether `reread` works (a seekable input). */
  readonly rereadable: boolean;
  /**
   * The series blocks of channels [firstChannel, firstChannel + channelCount) of an instance
   * again, from a seekable input: a second pass without a spill.
   */
  reread?(instance: number, firstChannel: number, channelCount: number): AsyncIterable<DataBlock>;
  /** Where channel c, step t of a block it yielded is in the input (see locationText). */
  locate(block: DataBlock, channel: number, step: number): Location;
  close(): Promise<void>;
}

/**
 * Where a value is in its input, in the terms of its format: a CSV line (from 1) and column, an
 * Arrow row (from 0, as pyarrow counts) and column, or list element, an NPY byte offset.
 */
export interface Location {
  readonly line?: number | undefined;
  readonly row?: number | undefined;
  readonly byte?: number | undefined;
  /** The column that holds the value (CSV, Arrow's long layout). */
  readonly column?: string | undefined;
  /** Arrow's list layout: the channel's index and the element in its list. */
  readonly channel?: number | undefined;
  readonly element?: number | undefined;
}

/** A location as messages write it: `line 3, column 'ax'`, `row 7, column 'ax'`, `byte 152`, `row 2, channel 0, element 5`. */
export function locationText(at: Location): string {
  const parts: string[] = [];
  if (at.line !== undefined) parts.push(`line ${at.line}`);
  if (at.row !== undefined) parts.push(`row ${at.row}`);
  if (at.byte !== undefined) parts.push(`byte ${at.byte}`);
  if (at.column !== undefined) parts.push(`column '${at.column}'`);
  if (at.channel !== undefined) parts.push(`channel ${at.channel}`);
  if (at.element !== undefined) parts.push(`element ${at.element}`);
  return parts.join(', ');
}

/** What a writer takes: rows of all channels, or series in C order (instance, channel, step). */
export interface WriterNeeds {
  readonly orientation: Orientation;
  /** Series writers: each block must hold whole series of whole instances (one instance a block). */
  readonly wholeInstances: boolean;
  /** Whether the writer writes pass-through columns (else the pipeline need not carry them). */
  readonly passThrough: boolean;
  /** Nothing of the blocks given to write() (values, row text) is used once it resolves: they may be released. */
  readonly doneOnWrite?: boolean | undefined;
}

/** A writer of one output: `start` once, `write` groups of blocks in order, then `finish` or `abort`. */
export interface SeriesWriter {
  readonly name: string;
  /** What the writer takes; read after `start` (it may depend on the schema). */
  readonly needs: WriterNeeds;
  /** The array type the writer takes without conversion: the pipeline transforms straight into it. */
  readonly valueType: 'float32' | 'float64';
  start(schema: Schema): Promise<void>;
  /**
   * Writes blocks in order. The writer may go on using their arrays (values, pass-through
   * buffers) until the next call to write() resolves (or finish()): callers alternate between two
   * output arrays, and call write([]) before they refill a reader's. (The Arrow writer writes
   * them with one writev, uncopied, while the next batch is computed.)
   */
  write(blocks: readonly DataBlock[]): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

export type FormatName = 'npy' | 'csv' | 'tsv' | 'arrow' | 'arrows' | 'parquet';
