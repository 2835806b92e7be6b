import fs from 'node:fs';
import * as A from 'apache-arrow';
import type { Values } from '../../core/block.js';
import { allocateValues, releaseValues } from '../../core/kernels/kernels.js';
import { NULL_VALUE } from '../../core/missing.js';
import { TsnormError } from '../../errors.js';
import { type ByteSource, openInput, readFully } from '../../io/byte-source.js';
import { createScratchFile, removeTempFile, writeScratch } from '../../io/temp-files.js';
import { checkFooterMetadata } from './metadata.js';
import { checkBatch, messageAt } from './validate.js';
import { IdRegistry } from '../id-registry.js';
import { roundedIntegerMessage, roundedToDouble } from '../number-text.js';
import type { CellValue, ColumnSpec, DataBlock, ElementType, Location, Schema, SeriesReader } from '../types.js';
import { ArrowPassColumn, cellOf, describeType, isNumericType, listShape } from './cells.js';
import { registerDecoders } from './codecs.js';
import { openArrowFile } from './file.js';
import type { NumberedBatch } from './small-batches.js';
import { ArrowMessages } from './stream.js';

export interface ArrowReaderOptions {
  readonly layout: 'long' | 'list';
  readonly id?: string | undefined;
  readonly channels?: readonly string[] | undefined;
  readonly keep?: readonly string[] | undefined;
  /**
   * Batches are used as they arrive (eval, convert): small batches of a stream are gathered only
   * while more have already arrived. Otherwise they are gathered the same however the bytes arrive.
   */
  readonly live: boolean;
  /** A channel value float64 cannot hold exactly (an int64 beyond 2^53) is an error (convert). */
  readonly exact?: boolean | undefined;
}

/**
 * Opens Arrow IPC input: the file format (Feather v2) from a seekable file is read through its
 * footer, a record batch at a time (from a pipe, after a copy to a scratch file); the stream
 * format message by message, each batch used as soon as it has arrived. Either way one batch is
 * in memory at a time. LZ4_FRAME and ZSTD bodies are decompressed by the registered codecs.
 */
export async function openArrowReader(input: ByteSource, options: ArrowReaderOptions): Promise<SeriesReader> {
  registerDecoders();
  const head = await input.peek(6);
  const isFile = String.fromCharCode(...head) === 'ARROW1';
  // The file format is read through its footer, at the end: from a pipe it is copied to a file first.
  const src = isFile && !input.seekable ? await copyToScratch(input) : input;
  let batches: BatchSource;
  try {
    if (isFile) {
      await checkFileEnds(src);
      const file = await openArrowFile(src);
      batches = { schema: file.schema, batches: () => file.batches(), close: async () => {} };
    } else {
      const stream = new ArrowMessages(src, options.live);
      await stream.open();
      batches = { schema: stream.schema!, batches: () => stream.batches(), close: async () => {} };
    }
    // A schema without columns is what a damaged schema reads as (and nothing to normalize anyway).
    if (batches.schema.fields.length === 0) throw new TsnormError(`${src.name}: the Arrow schema has no columns (a corrupt ${isFile ? 'file' : 'stream'}, or a table without columns)`);
    // A name is optional in the flatbuffer, but every column is found and written by its name.
    const unnamed = batches.schema.fields.findIndex((f) => typeof f.name !== 'string');
    if (unnamed >= 0) throw new TsnormError(`${src.name}: column ${unnamed} of the Arrow schema has no name (a corrupt ${isFile ? 'file' : 'stream'}?)`);
  } catch (err) {
    await src.close();
    throw arrowError(src.name, err, isFile);
  }
  return options.layout === 'list' ? ListArrowReader.open(src, batches, options) : new LongArrowReader(src, batches, options);
}

/** Record batches from a file or a stream, and their schema. */
interface BatchSource {
  readonly schema: A.Schema;
  batches(): AsyncIterable<NumberedBatch>;
  close(): Promise<void>;
}

/** An Arrow library error as a one-line message naming the input. */
export function arrowError(name: string, err: unknown, isFile = false): TsnormError {
  if (err instanceof TsnormError) return err;
  const why = ((err as Error)?.message ?? String(err)).split('\n')[0]!;
  const type = /Unrecognized type: "(\w+)"(?: \((\d+)\))?/.exec(why);
  if (type?.[1] === 'undefined') {
    return new TsnormError(`${name}: corrupt Arrow data: a column's type id${type[2] === undefined ? '' : ` ${type[2]}`} is no Arrow type (a damaged schema, or a writer newer than this reader)`);
  }
  if (type) return new TsnormError(`${name}: uses an Arrow type that cannot be read here: ${type[1]} (write it with plain lists and strings: polars compat_level=oldest, or pyarrow)`);
  if (/Expected to read \d+ .*but only read/.test(why)) return new TsnormError(`${name}: truncated Arrow data: ${why}`);
  if (isFile && err instanceof TypeError) return new TsnormError(`${name}: corrupt Arrow file: its footer cannot be read (${why})`);
  return new TsnormError(`${name}: not valid Arrow IPC data (truncated or corrupt?): ${why}`);
}

/**
 * A file ends with its footer, the footer's length and the magic again: a truncated file or a
 * broken footer is said so here (apache-arrow would fail on a null deep inside).
 */
async function checkFileEnds(src: ByteSource): Promise<void> {
  const size = src.size ?? 0;
  const tail = new Uint8Array(10);
  const got = size >= 16 ? await src.read(tail, 0, 10, size - 10) : 0;
  if (got < 10 || String.fromCharCode(...tail.subarray(4)) !== 'ARROW1') {
    throw new TsnormError(`${src.name}: truncated Arrow file: it does not end with the footer and the ARROW1 magic (${size} bytes)`);
  }
  const footer = new DataView(tail.buffer).getInt32(0, true);
  if (footer <= 0 || footer > size - 18) throw new TsnormError(`${src.name}: corrupt Arrow file: its footer length (${footer}) does not fit the file (${size} bytes)`);
  const bytes = new Uint8Array(footer);
  if ((await readFully(src, bytes, 0, footer, size - 10 - footer)) < footer) throw new TsnormError(`${src.name}: truncated Arrow file: its footer cannot be read`);
  const dictionaries = checkFooterMetadata(bytes, `${src.name}: the footer`);
  for (const [i, d] of dictionaries.entries()) {
    if (!(d.offset >= 8 && d.metaDataLength > 8 && d.offset + d.metaDataLength <= size)) {
      throw new TsnormError(`${src.name}: corrupt Arrow file: its footer places dictionary batch ${i} at bytes ${d.offset}..${d.offset + d.metaDataLength}, outside the file (${size} bytes)`);
    }
    const framed = new Uint8Array(d.metaDataLength);
    await readFully(src, framed, 0, framed.length, d.offset);
    messageAt(framed, 0, `${src.name}: corrupt Arrow file: dictionary batch ${i}`);
  }
}


/** A pipe's bytes in a scratch file (removed with the reader), read like a file. */
async function copyToScratch(src: ByteSource): Promise<ByteSource> {
  const file = createScratchFile('arrow');
  try {
    const buf = new Uint8Array(1 << 20);
    for (let n; (n = await src.read(buf, 0, buf.length, 0)) > 0;) writeScratch(file.fd, buf, 0, n, null);
  } finally {
    fs.closeSync(file.fd);
    await src.close();
  }
  const copy = await openInput(file.path);
  return {
    name: src.name, size: copy.size, seekable: true,
    read: (buf, offset, length, position) => copy.read(buf, offset, length, position),
    peek: (n) => copy.peek(n),
    async close() {
      await copy.close();
      await removeTempFile(file.path);
    },
  };
}

/** A block of the long layout, with the input row it starts at (for messages). */
interface ArrowBlock extends DataBlock {
  readonly row: number;
}

/** Columns by name, refusing a name given to a flag that is missing or shared. */
function fieldIndex(schema: A.Schema, name: string, flag: string, file: string): number {
  const found = schema.fields.flatMap((f, i) => (f.name === name ? [i] : []));
  if (found.length === 0) throw new TsnormError(`${file}: ${flag}: no column '${name}'; the columns are: ${schema.fields.map((f) => f.name).join(', ')}`);
  if (found.length > 1) throw new TsnormError(`${file}: ${flag}: more than one column is named '${name}'`);
  return found[0]!;
}

/** Reads record batches, refusing a schema that changes. */
abstract class ArrowReaderBase {
  readonly reusesBuffers: boolean = false;
  readonly rereadable = false;
  protected batchIndex = -1;
  protected rowsBefore = 0;

  constructor(
    protected readonly src: ByteSource,
    protected readonly arrow: BatchSource,
    protected readonly exact: boolean,
  ) {}

  get name(): string {
    return this.src.name;
  }

  /** The record batches in order, counted (for messages). */
  protected async *batches(): AsyncIterable<A.RecordBatch> {
    try {
      for await (const { batch, index } of this.arrow.batches()) {
        this.batchIndex = index;
        checkBatch(batch, this.name, this.batchIndex);
        yield batch;
        this.rowsBefore += batch.numRows;
      }
    } catch (err) {
      throw arrowError(this.name, err);
    }
  }

  async close(): Promise<void> {
    try { await this.arrow.close(); } catch { /* closing anyway */ }
    await this.src.close();
  }
}

/**
 * The long layout: a row per time step, channels as numeric columns, an optional --id column
 * (any type; equal consecutive values form an instance). Each record batch becomes blocks cut
 * where the instance changes; the channels are copied into one channel-major array per batch
 * (float32 stays float32), every other column passes through as a slice of its vector.
 */
class LongArrowReader extends ArrowReaderBase implements SeriesReader {
  readonly schema: Schema;
  override readonly reusesBuffers: boolean;
  private readonly channelFields: number[];
  private readonly carriedFields: number[];
  private readonly carriedSpecs: Omit<ColumnSpec, 'name' | 'role'>[];
  private readonly idField: number | undefined;
  private readonly valueKind: 'float32' | 'float64';
  private readonly buffers: [Values, Values];
  private which = 0;
  private instance = -1;
  private step = 0;
  private readonly ids = new IdRegistry();
  private lastId: CellValue = null;

  constructor(src: ByteSource, arrow: BatchSource, options: ArrowReaderOptions) {
    super(src, arrow, options.exact ?? false);
    const fields = arrow.schema.fields;
    const file = src.name;
    this.idField = options.id === undefined ? undefined : fieldIndex(arrow.schema, options.id, '--id', file);
    const keep = new Set((options.keep ?? []).map((k) => fieldIndex(arrow.schema, k, '--keep', file)));
    if (options.channels) {
      this.channelFields = options.channels.map((c) => fieldIndex(arrow.schema, c, '--channels', file));
      for (const i of this.channelFields) {
        if (!isNumericType(fields[i]!.type)) throw new TsnormError(`${file}: --channels: column '${fields[i]!.name}' is ${fields[i]!.type}, not numbers`);
        if (i === this.idField || keep.has(i)) throw new TsnormError(`${file}: --channels: '${fields[i]!.name}' is also --id or --keep`);
      }
    } else {
      this.channelFields = fields.flatMap((f, i) => (i !== this.idField && !keep.has(i) && isNumericType(f.type) ? [i] : []));
    }
    if (this.channelFields.length === 0) {
      // A list-layout file (a row per instance) read as the long layout.
      const lists = fields.filter((f) => describeType(f.type).type === 'list' && ['float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'list'].includes(describeType(f.type).element ?? ''));
      const hint = lists.length > 0 ? `; its list columns (${lists.map((f) => f.name).join(', ')}) hold a series per row: --layout list reads them` : '; name them with --channels';
      throw new TsnormError(`${file}: no numeric column to normalize (columns: ${fields.map((f) => f.name).join(', ')})${hint}`);
    }
    const channelSet = new Set(this.channelFields);
    const names = this.channelFields.map((i) => fields[i]!.name);
    const dup = names.find((n, k) => names.indexOf(n) !== k);
    if (dup !== undefined) throw new TsnormError(`${file}: more than one channel column is named '${dup}'`);
    this.carriedFields = fields.flatMap((_f, i) => (channelSet.has(i) ? [] : [i]));
    this.carriedSpecs = this.carriedFields.map((i) => describeType(fields[i]!.type));
    const columns: ColumnSpec[] = fields.map((f, i) => ({
      name: f.name, ...describeType(f.type),
      role: channelSet.has(i) ? 'channel' : i === this.idField ? 'id' : 'pass',
      ...metadataOf(f),
    }));
    // float32 channels stay float32 (the SIMD kernels read them in place); anything else is float64.
    const channelTypes = this.channelFields.map((i) => describeType(fields[i]!.type).type);
    this.valueKind = channelTypes.every((t) => t === 'float32') ? 'float32' : 'float64';
    const valueType: ElementType = channelTypes.every((t) => t === channelTypes[0]) ? channelTypes[0]! : 'float64';
    // float32 goes to two arrays in the kernels' memory, in turn; float64 to a new array per batch,
    // so that instances crossing batches are held without a copy.
    this.reusesBuffers = this.valueKind === 'float32';
    this.buffers = [allocateValues(this.valueKind, 0), allocateValues(this.valueKind, 0)];
    this.schema = {
      columns, channels: this.channelFields.length, channelNames: names,
      unbatched: this.idField === undefined, valueType, orientation: 'rows',
      ...metadataOf(arrow.schema),
      describeInstance: (i) => {
        const id = this.ids.idAt(i);
        return id === undefined ? `instance ${i}` : `instance ${i} (id '${Buffer.from(id, 'latin1').toString('utf8').slice(0, 80)}', from row ${this.ids.lineAt(i)})`;
      },
      instanceId: (i) => {
        const id = this.ids.idAt(i);
        return id === undefined ? undefined : Buffer.from(id, 'latin1').toString('utf8');
      },
    };
  }

  locate(block: DataBlock, channel: number, step: number): Location {
    const row = (block as ArrowBlock).row;
    return { row: row === undefined ? undefined : row + step - block.firstStep, column: this.schema.channelNames![channel] };
  }

  async *blocks(): AsyncIterable<readonly DataBlock[]> {
    for await (const batch of this.batches()) {
      const n = batch.numRows;
      if (n === 0) continue;
      const { values, stride, offset = 0 } = this.channelValues(batch, n) as { values: Values; stride: number; offset?: number };
      const runs = this.instanceRuns(batch, n);
      const blocks: DataBlock[] = [];
      for (let k = 0; k < runs.length; k++) {
        const [r0, startsInstance] = runs[k]!;
        const r1 = k + 1 < runs.length ? runs[k + 1]![0] : n;
        if (startsInstance) {
          this.instance++;
          this.step = 0;
        }
        const block: ArrowBlock = {
          instance: this.instance, values, offset: offset + r0, channelStride: stride, stepStride: 1,
          firstChannel: 0, channelCount: this.channelFields.length, firstStep: this.step, stepCount: r1 - r0,
          pass: this.carriedFields.map((f, c) => new ArrowPassColumn(batch.getChildAt(f)!.slice(r0, r1), this.carriedSpecs[c]!)),
          row: this.rowsBefore + r0,
        };
        blocks.push(block);
        this.step += r1 - r0;
      }
      yield blocks;
    }
  }

  /**
   * The batch's channels as one array, channel-major, and the distance between channels. Float64
   * channels without nulls that lie evenly spaced in the batch's body (as writers lay them out)
   * are used in place; otherwise they are copied together (channel c at [c * n, (c + 1) * n)),
   * nulls as NULL_VALUE.
   */
  private channelValues(batch: A.RecordBatch, n: number): { values: Values; stride: number } {
    const inPlace = this.reusesBuffers ? undefined : channelsInPlace(batch, this.channelFields, n);
    if (inPlace) return inPlace;
    const C = this.channelFields.length;
    let values: Values;
    if (this.reusesBuffers) {
      this.which ^= 1;
      values = this.buffers[this.which]!;
      if (values.length < C * n) {
        releaseValues(values);
        values = this.buffers[this.which] = allocateValues(this.valueKind, C * n);
      }
    } else {
      values = new Float64Array(C * n);
    }
    this.channelFields.forEach((f, c) => {
      const column = batch.getChildAt(f)!;
      const data = column.data[0]!;
      const src = data.values as ArrayLike<number> | BigInt64Array | BigUint64Array;
      const at = c * n;
      if (A.DataType.isFloat(data.type) && data.type.precision === A.Precision.HALF) {
        for (let i = 0; i < n; i++) values[at + i] = (column.get(i) as number | null) ?? NULL_VALUE;
      } else if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
        for (let i = 0; i < n; i++) values[at + i] = Number(src[i]!);
        if (this.exact) {
          for (let i = 0; i < n; i++) {
            if (data.getValid(i) && roundedToDouble(src[i]!, values[at + i]!)) {
              throw new TsnormError(`${this.name}: row ${this.rowsBefore + i}, column '${this.arrow.schema.fields[f]!.name}': ${roundedIntegerMessage(String(src[i]), this.arrow.schema.fields[f]!.name)}`);
            }
          }
        }
      } else {
        // Same type: a copy; another numeric type: converted as it is copied.
        // (Value buffers start at the Data's first row; its `offset` is for the validity bits.)
        values.set((src as Float64Array).subarray(0, n), at);
      }
      if (data.nullCount > 0) {
        for (let i = 0; i < n; i++) if (!data.getValid(i)) values[at + i] = NULL_VALUE;
      }
    });
    return { values, stride: n };
  }

  /** Where instances begin in the batch: [row, whether a new instance starts there]. */
  private instanceRuns(batch: A.RecordBatch, n: number): [number, boolean][] {
    if (this.idField === undefined) return [[0, this.instance < 0]];
    const ids = batch.getChildAt(this.idField)!;
    const data = ids.data[0]!;
    if (data.nullCount > 0) {
      for (let r = 0; r < n; r++) {
        if (!data.getValid(r)) throw new TsnormError(`${this.name}: row ${this.rowsBefore + r}: the --id column '${this.arrow.schema.fields[this.idField]!.name}' is null: every row needs an id`);
      }
    }
    const runs: [number, boolean][] = [];
    for (const r of [0, ...changedRows(ids, n)]) {
      const id = cellOf(ids, r);
      // A dictionary's value may be null where its index is not.
      if (id === null) throw new TsnormError(`${this.name}: row ${this.rowsBefore + r}: the --id column '${this.arrow.schema.fields[this.idField]!.name}' is null: every row needs an id`);
      if (r === 0 && this.instance >= 0 && equalCells(id, this.lastId)) {
        runs.push([0, false]);
        continue;
      }
      this.register(id, this.rowsBefore + r);
      runs.push([r, true]);
    }
    return runs;
  }

  private register(id: CellValue, row: number): void {
    const key = Buffer.from(String(id), 'utf8').toString('latin1');
    const before = this.ids.lineOf(key);
    if (before !== undefined) {
      throw new TsnormError(`${this.name}: row ${row}: id '${String(id).slice(0, 80)}' appears again after other ids (its rows began at row ${before}); the rows of one instance must be contiguous (sort by id first)`);
    }
    this.ids.add(key, row);
    this.lastId = id;
  }

  override async close(): Promise<void> {
    for (const b of this.buffers) releaseValues(b);
    await super.close();
  }
}

/** A field's or schema's metadata, as a ColumnSpec or Schema holds it (nothing when empty). */
export function metadataOf(x: { metadata: Map<string, string> }): { metadata?: ReadonlyMap<string, string> } {
  return x.metadata.size > 0 ? { metadata: new Map(x.metadata) } : {};
}

/**
 * Float64 channels without nulls whose buffers lie in one ArrayBuffer at equal distances: a view
 * of them all, with the channel stride and the first channel's index, or undefined.
 */
function channelsInPlace(batch: A.RecordBatch, fields: readonly number[], n: number): { values: Float64Array; stride: number; offset: number } | undefined {
  const buffers: Float64Array[] = [];
  for (const f of fields) {
    const data = batch.getChildAt(f)!.data[0]!;
    if (!(data.values instanceof Float64Array) || data.nullCount > 0 || data.values.length < n) return undefined;
    buffers.push(data.values);
  }
  const first = buffers[0]!;
  if (first.byteOffset % 8 !== 0) return undefined;
  const step = buffers.length > 1 ? buffers[1]!.byteOffset - first.byteOffset : n * 8;
  if (step < n * 8 || step % 8 !== 0) return undefined;
  for (let c = 0; c < buffers.length; c++) {
    if (buffers[c]!.buffer !== first.buffer || buffers[c]!.byteOffset !== first.byteOffset + c * step) return undefined;
  }
  const stride = step / 8;
  const count = (buffers.length - 1) * stride + n;
  if (first.byteOffset + count * 8 > first.buffer.byteLength) return undefined;
  return { values: new Float64Array(first.buffer, first.byteOffset, count), stride, offset: 0 };
}

/**
 * The rows (after the first) whose value differs from the row before: where instances begin.
 * Compared on the raw buffers where the type allows (a tight loop a type, no call a row).
 * (Value buffers start at the Data's first row; its `offset` is for the validity bits.)
 */
function changedRows(v: A.Vector, n: number): number[] {
  const data = v.data[0]!;
  const t = v.type as A.DataType;
  const out: number[] = [];
  if (A.DataType.isInt(t)) {
    const keys = data.values as Int32Array | BigInt64Array;
    for (let r = 1; r < n; r++) if (keys[r] !== keys[r - 1]) out.push(r);
  } else if (A.DataType.isDictionary(t)) {
    // Other indices may hold an equal value (a dictionary need not be unique): compared by value.
    const keys = data.values as Int32Array | BigInt64Array;
    for (let r = 1; r < n; r++) if (keys[r] !== keys[r - 1] && !equalCells(cellOf(v, r), cellOf(v, r - 1))) out.push(r);
  } else if (A.DataType.isUtf8(t) && data.valueOffsets instanceof Int32Array) {
    const offsets = data.valueOffsets;
    const bytes = data.values as Uint8Array;
    for (let r = 1; r < n; r++) {
      const a0 = offsets[r - 1]!;
      const a1 = offsets[r]!;
      const length = a1 - a0;
      if (offsets[r + 1]! - a1 !== length) { out.push(r); continue; }
      for (let i = 0; i < length; i++) {
        if (bytes[a0 + i] !== bytes[a1 + i]) { out.push(r); break; }
      }
    }
  } else {
    for (let r = 1; r < n; r++) if (!equalCells(cellOf(v, r), cellOf(v, r - 1))) out.push(r);
  }
  return out;
}

/** Ids are the same instance when their values are equal: NaN is one id too (Arrow float ids). */
function equalCells(a: CellValue, b: CellValue): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return a !== a && b !== b;
  return a !== null && b !== null && typeof a === 'object' && JSON.stringify(a, big) === JSON.stringify(b, big);
}

const big = (_k: string, x: unknown): unknown => (typeof x === 'bigint' ? x.toString() : x);

/**
 * The list layout: a row per instance (as Hugging Face datasets and GluonTS store series): each
 * channel a List, LargeList or FixedSizeList of numbers, or one column of lists of lists holding
 * C x L. Every other column passes through with one value per instance.
 */
class ListArrowReader extends ArrowReaderBase implements SeriesReader {
  readonly schema: Schema;
  private readonly channelFields: number[];
  /** One column holding all channels (list of lists), or one column per channel. */
  private readonly nested: boolean;
  private readonly carriedFields: number[];
  private instance = 0;
  private channelCount = 0;
  private readonly pending: A.RecordBatch[] = [];
  private readonly iterator: AsyncIterator<A.RecordBatch>;

  /** With one column of lists of lists, the channel count is the first row's: the first batch is read now. */
  static async open(src: ByteSource, arrow: BatchSource, options: ArrowReaderOptions): Promise<ListArrowReader> {
    const reader = new ListArrowReader(src, arrow, options);
    if (reader.nested) {
      for (let next = await reader.iterator.next(); !next.done; next = await reader.iterator.next()) {
        reader.pending.push(next.value);
        if (next.value.numRows > 0) break;
      }
      const first = reader.pending.find((b) => b.numRows > 0);
      reader.channelCount = first ? reader.instanceOf(first, 0, false).channelCount : 0;
      (reader.schema as { channels: number }).channels = reader.channelCount;
      (reader.schema as { channelNames?: string[] }).channelNames = Array.from({ length: reader.channelCount }, (_, c) => `${reader.nestedName}_${c}`);
    }
    return reader;
  }

  private get nestedName(): string {
    return this.arrow.schema.fields[this.channelFields[0]!]!.name;
  }

  private constructor(src: ByteSource, arrow: BatchSource, options: ArrowReaderOptions) {
    super(src, arrow, options.exact ?? false);
    this.iterator = this.batches()[Symbol.asyncIterator]();
    const fields = arrow.schema.fields;
    const file = src.name;
    const listOf = (t: A.DataType): A.DataType | undefined =>
      A.DataType.isList(t) || A.DataType.isFixedSizeList(t) || t.typeId === A.Type.LargeList ? ((t as A.List).children[0]!.type as A.DataType) : undefined;
    const isSeries = (t: A.DataType) => { const e = listOf(t); return e !== undefined && isNumericType(e); };
    const isNested = (t: A.DataType) => { const e = listOf(t); return e !== undefined && isSeries(e); };
    const keep = new Set((options.keep ?? []).map((k) => fieldIndex(arrow.schema, k, '--keep', file)));
    if (options.id !== undefined) fieldIndex(arrow.schema, options.id, '--id', file);
    if (options.channels) {
      this.channelFields = options.channels.map((c) => fieldIndex(arrow.schema, c, '--channels', file));
    } else {
      const nested = fields.flatMap((f, i) => (!keep.has(i) && isNested(f.type) ? [i] : []));
      this.channelFields = nested.length === 1 ? nested : fields.flatMap((f, i) => (!keep.has(i) && isSeries(f.type) ? [i] : []));
    }
    if (this.channelFields.length === 0) {
      throw new TsnormError(`${file}: --layout list: no column of lists of numbers (columns: ${fields.map((f) => `${f.name}: ${f.type}`).join(', ')})`);
    }
    this.nested = this.channelFields.length === 1 && isNested(fields[this.channelFields[0]!]!.type);
    for (const i of this.channelFields) {
      if (!this.nested && !isSeries(fields[i]!.type)) throw new TsnormError(`${file}: --layout list: column '${fields[i]!.name}' is ${fields[i]!.type}, not a list of numbers`);
    }
    const channelSet = new Set(this.channelFields);
    this.carriedFields = fields.flatMap((_f, i) => (channelSet.has(i) ? [] : [i]));
    const idIndex = options.id === undefined ? -1 : fields.findIndex((f) => f.name === options.id);
    const columns: ColumnSpec[] = fields.flatMap((f, i): ColumnSpec[] => {
      if (!channelSet.has(i)) return [{ name: f.name, ...describeType(f.type), role: i === idIndex ? 'id' : 'pass', ...metadataOf(f) }];
      // The series' element type: float32 lists give float32 lists, as float32 columns do in the long layout.
      let element: A.DataType = f.type;
      for (let e = listOf(element); e !== undefined; e = listOf(element)) element = e;
      // How the lists are stored (list, large_list, fixed_size_list), kept for a list output.
      const inner = this.nested ? listOf(f.type) : undefined;
      return [{ name: f.name, type: describeType(element).type, role: 'channel', list: listShape(f.type), innerList: inner && listShape(inner), ...metadataOf(f) }];
    });
    const channelTypes = columns.filter((c) => c.role === 'channel').map((c) => c.type);
    // With one nested column the channel count is known from the first row only: the schema is fixed when the first batch arrives.
    this.channelCount = this.nested ? 0 : this.channelFields.length;
    this.schema = {
      columns, channels: this.channelCount,
      channelNames: this.nested ? undefined : this.channelFields.map((i) => fields[i]!.name),
      unbatched: false, valueType: channelTypes.every((t) => t === channelTypes[0]) ? channelTypes[0]! : 'float64', orientation: 'series',
      ...(this.nested ? { nestedChannels: fields[this.channelFields[0]!]!.name } : {}),
      ...metadataOf(arrow.schema),
    };
  }

  locate(block: DataBlock, channel: number, step: number): Location {
    return this.nested ? { row: block.instance, column: this.schema.nestedChannels, channel, element: step } : { row: block.instance, column: this.schema.channelNames![channel], element: step };
  }

  async *blocks(): AsyncIterable<readonly DataBlock[]> {
    for (;;) {
      const next = this.pending.shift() ?? (await this.iterator.next()).value;
      if (!next) return;
      const batch: A.RecordBatch = next;
      const blocks: DataBlock[] = [];
      for (let r = 0; r < batch.numRows; r++) blocks.push(this.instanceOf(batch, r));
      if (blocks.length > 0) yield blocks;
      this.rowsDone += batch.numRows;
    }
  }

  /** Rows of the batches handed out before the current one. */
  private rowsDone = 0;

  /** Row r of the batch as one instance's block (`count`: whether it is one of the instances). */
  private instanceOf(batch: A.RecordBatch, r: number, count = true): DataBlock {
    const row = this.rowsDone + r;
    const series: ArrayLike<number | bigint | null>[] = [];
    const where = (c: number) => this.nested ? `column '${this.arrow.schema.fields[this.channelFields[0]!]!.name}', row ${row}` : `column '${this.arrow.schema.fields[this.channelFields[c]!]!.name}', row ${row}`;
    if (this.nested) {
      const v = batch.getChildAt(this.channelFields[0]!)!;
      const outer = v.get(r) as A.Vector | null;
      if (outer === null) throw new TsnormError(`${this.name}: ${where(0)}: null instead of a list of series`);
      for (let c = 0; c < outer.length; c++) {
        const inner = outer.get(c) as A.Vector | null;
        if (inner === null) throw new TsnormError(`${this.name}: ${where(0)}: series ${c} is null`);
        series.push(listValues(inner));
      }
    } else {
      this.channelFields.forEach((f, c) => {
        const inner = batch.getChildAt(f)!.get(r) as A.Vector | null;
        if (inner === null) throw new TsnormError(`${this.name}: ${where(c)}: null instead of a series`);
        series.push(listValues(inner));
      });
    }
    const C = series.length;
    if (count && C !== this.channelCount) throw new TsnormError(`${this.name}: ${where(0)}: ${C} series, the first row had ${this.channelCount}`);
    const L = series[0]?.length ?? 0;
    series.forEach((s, c) => {
      if (s.length !== L) throw new TsnormError(`${this.name}: ${where(c)}: ${s.length} values, but channel 0 has ${L}: the channels of an instance must have one length`);
    });
    const values = new Float64Array(C * L);
    series.forEach((s, c) => {
      for (let t = 0; t < L; t++) {
        const x = s[t];
        values[c * L + t] = x === null || x === undefined ? NULL_VALUE : Number(x);
        if (this.exact && typeof x === 'bigint' && roundedToDouble(x, values[c * L + t]!)) throw new TsnormError(`${this.name}: ${where(c)}, step ${t}: ${roundedIntegerMessage(String(x), this.nested ? undefined : this.arrow.schema.fields[this.channelFields[c]!]!.name)}`);
      }
    });
    return {
      instance: count ? this.instance++ : 0, values, offset: 0, channelStride: L, stepStride: 1,
      firstChannel: 0, channelCount: C, firstStep: 0, stepCount: L, instanceSteps: L,
      instancePass: this.carriedFields.map((f) => cellOf(batch.getChildAt(f)!, r)),
      instanceColumns: this.carriedFields.map((f) => new ArrowPassColumn(batch.getChildAt(f)!.slice(r, r + 1), describeType(batch.schema.fields[f]!.type))),
    };
  }
}

/** A list cell's numbers, nulls as null (float16's as numbers: its array holds the raw bits). */
function listValues(v: A.Vector): ArrayLike<number | bigint | null> {
  const half = A.DataType.isFloat(v.type) && v.type.precision === A.Precision.HALF;
  if (v.nullCount === 0 && !half) return v.toArray() as ArrayLike<number | bigint>;
  return Array.from({ length: v.length }, (_, i) => v.get(i) as number | bigint | null);
}
