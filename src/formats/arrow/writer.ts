import * as A from 'apache-arrow';
import { channelStart } from '../../core/block.js';
import { countNaN } from '../../core/kernels/kernels.js';
import { isNullValue } from '../../core/missing.js';
import { TsnormError, handled } from '../../errors.js';
import type { ByteSink } from '../../io/byte-sink.js';
import {
  type CellValue,
  type ColumnSpec,
  type DataBlock,
  type ElementType,
  type ListShape,
  type Schema,
  type SeriesWriter,
  type TimeUnit,
  type WriterNeeds,
  channelColumns,
  channelIndexOf,
} from '../types.js';
import { ArrowPassColumn } from './cells.js';
import { ArrowFileWriter, ArrowStreamWriter, registerEncoder } from './codecs.js';
import { concatData } from './concat.js';

export interface ArrowWriterOptions {
  /** The stream format (else the file format, Feather v2). */
  readonly stream: boolean;
  /** All channels as this type; default: float64 where the input column was float64, else float32. */
  readonly dtype?: 'float32' | 'float64' | undefined;
  /** Without dtype: each channel keeps its input column's numeric type (convert changes no value). */
  readonly keepTypes?: boolean | undefined;
  readonly compression?: 'lz4' | 'zstd' | undefined;
  /** long: a row per time step; list: a row per instance, each channel a list. */
  readonly layout: 'long' | 'list';
  /**
   * Where the record batches go instead of Arrow IPC (another format built on Arrow's columns:
   * Parquet). It writes to the sink itself; the writer commits the sink after `finish`.
   */
  readonly batches?: BatchConsumer | undefined;
}

/** Takes the writer's record batches in order (see ArrowWriterOptions.batches). */
export interface BatchConsumer {
  write(batch: A.RecordBatch): void;
  /** Resolves when the batches written so far are taken (memory stays bounded). */
  drain(): Promise<void>;
  /** After the last batch: everything written to the sink. */
  finish(): Promise<void>;
  abort(): Promise<void>;
}

/** The bytes apache-arrow's writer produces for one call, collected to go to our sink at once. */
class CollectingQueue extends A.AsyncByteQueue {
  chunks: Uint8Array[] = [];
  override write(chunk: Parameters<A.AsyncByteQueue['write']>[0]): void {
    this.chunks.push(chunk as Uint8Array);
  }
}

/** Blocks of fewer rows are gathered into record batches of about BATCH_ROWS (see ArrowWriter.gathers). */
const GATHER_BELOW_ROWS = 8192;
const BATCH_ROWS = 65536;
const COMPACT_PARTS = 1024;

/** Batches smaller than this are gathered into writes of up to STAGE_BYTES (see ArrowWriter.drain). */
const SMALL_WRITE_BYTES = 64 << 10;
const STAGE_BYTES = 1 << 20;

/** Instances collected before the list layout writes them as one record batch. */
const LIST_BATCH_ROWS = 1024;

/**
 * Writes Arrow IPC, file or stream format, a record batch per group of rows (long layout) or per
 * group of instances (list layout). Pass-through columns keep their Arrow type where the input
 * was Arrow (the same buffers, sliced), and get the type the schema names otherwise (a CSV
 * timestamp column becomes Int64). Channels are Float32 or Float64; missing results are null.
 */
export class ArrowWriter implements SeriesWriter {
  needs: WriterNeeds;
  private writer: A.RecordBatchWriter | undefined;
  private readonly queue = new CollectingQueue();
  private schema: Schema | undefined;
  private outputTypes: ChannelType[] = [];
  /** Each channel column's channel index (the blocks' order, not the columns'). */
  private channelIndex = new Map<ColumnSpec, number>();

  /** Whether a channel's NaN stays NaN (only a missing value becomes null): when values are kept as they were. */
  private get keepsNaN(): boolean {
    return this.options.keepTypes === true;
  }
  private arrowSchema: A.Schema | undefined;
  private listRows: DataBlock[] = [];
  private inFlight: Promise<void> = Promise.resolve();
  /** Per column, the gathered parts (see gathers): joined every COMPACT_PARTS, so that few objects are held. */
  private gathered: A.Data[][] = [];
  private gatheredRows = 0;
  /** Small batches' bytes gathered into one write (see drain). */
  private stage = new Uint8Array(0);
  private staged = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly options: ArrowWriterOptions,
  ) {
    this.needs =
      options.layout === 'list'
        ? { orientation: 'series', wholeInstances: true, passThrough: true }
        : { orientation: 'rows', wholeInstances: false, passThrough: true };
  }

  get name(): string {
    return this.sink.name;
  }

  /** float32 when every output channel is: the pipeline then transforms straight into float32. */
  get valueType(): 'float32' | 'float64' {
    return this.outputTypes.length > 0 && this.outputTypes.every((t) => t === 'float32') ? 'float32' : 'float64';
  }

  async start(schema: Schema): Promise<void> {
    this.schema = schema;
    this.channelIndex = channelIndexOf(schema);
    const channels = channelColumns(schema);
    // Float64 where the input column was float64 (text is), Float32 otherwise (float32, float16,
    // integers), unless asked to keep the input's type: float16 then becomes float32, which holds
    // every float16 value (apache-arrow writes no float16).
    const channelType = (c: ColumnSpec | undefined): ChannelType => {
      if (this.options.dtype) return this.options.dtype;
      if (this.options.keepTypes && c !== undefined && (CHANNEL_TYPES as readonly string[]).includes(c.type)) return c.type as ChannelType;
      return c === undefined || c.type === 'float64' ? 'float64' : 'float32';
    };
    this.outputTypes = Array.from({ length: schema.channels }, (_, k) => channelType(schema.nestedChannels ? channels[0] : channels[k]));
    if (this.options.compression) registerEncoder(this.options.compression);
    const options: ConstructorParameters<typeof A.RecordBatchStreamWriter>[0] = {
      ...(this.options.compression ? { compressionType: this.options.compression === 'lz4' ? A.CompressionType.LZ4_FRAME : A.CompressionType.ZSTD } : {}),
    };
    if (this.options.batches) return;
    this.writer = this.options.stream ? new ArrowStreamWriter(options) : new ArrowFileWriter(options);
    this.writer.reset(this.queue);
  }

  async write(blocks: readonly DataBlock[]): Promise<void> {
    if (this.options.layout === 'list') {
      // Instances are held until a batch is full: their values are copied (the caller reuses its arrays).
      for (const b of blocks) this.listRows.push({ ...b, values: b.values.slice(b.offset, b.offset + b.channelCount * b.channelStride), offset: 0 });
      if (this.listRows.length >= LIST_BATCH_ROWS) await this.writeListBatch();
      return;
    }
    for (const b of blocks) {
      if (this.gathers && b.stepCount < GATHER_BELOW_ROWS) {
        this.gather(this.longColumns(b, true));
      } else {
        this.writeGathered();
        this.writeBatch(this.longBatch(b));
      }
    }
    await this.drain();
  }

  /**
   * Small batches (an input of tiny record batches, or a CSV's reads) are gathered into one of
   * up to BATCH_ROWS rows: readers pay per batch, and so does writing one. Only where nobody reads
   * the output as it is written: a file (of either format), or the file format anywhere
   * (unreadable before its end); a stream to a pipe gets each batch as it is ready.
   */
  private get gathers(): boolean {
    return this.sink.writeAt !== undefined || !this.options.stream;
  }

  private gather(columns: A.Data[]): void {
    if (this.gathered.length === 0) this.gathered = columns.map(() => []);
    columns.forEach((d, j) => this.gathered[j]!.push(d));
    this.gatheredRows += columns[0]?.length ?? 0;
    if (this.gatheredRows >= BATCH_ROWS) {
      this.writeGathered();
    } else if ((this.gathered[0]?.length ?? 0) >= COMPACT_PARTS) {
      const joined = this.gathered.map(concatData);
      if (joined.every((d) => d !== undefined)) this.gathered = joined.map((d) => [d!]);
      else this.writeGathered();
    }
  }

  private writeGathered(): void {
    const parts = this.gathered;
    if (parts.length === 0) return;
    this.gathered = [];
    this.gatheredRows = 0;
    const joined = parts.map(concatData);
    if (joined.every((d) => d !== undefined)) {
      this.writeBatch(batchOf(this.longFields(joined as A.Data[]), joined as A.Data[], joined[0]?.length ?? 0, this.schema!.metadata));
      return;
    }
    // A column of a type concatData does not join (a struct, a map): the parts as they came.
    for (let i = 0; i < parts[0]!.length; i++) {
      const columns = parts.map((column) => column[i]!);
      this.writeBatch(batchOf(this.longFields(columns), columns, columns[0]?.length ?? 0, this.schema!.metadata));
    }
  }

  async finish(): Promise<void> {
    this.writeGathered();
    if (this.listRows.length > 0) await this.writeListBatch();
    if (!this.arrowSchema) this.writeBatch(this.emptyBatch());
    if (this.options.batches) {
      await this.options.batches.finish();
      await this.sink.commit();
      return;
    }
    this.writer!.finish();
    await this.drain();
    await this.writeStaged();
    await this.inFlight;
    await this.sink.commit();
  }

  async abort(): Promise<void> {
    await this.inFlight.catch(() => undefined);
    await this.options.batches?.abort();
    await this.sink.abort();
  }

  private writeBatch(batch: A.RecordBatch): void {
    if (!this.arrowSchema) this.arrowSchema = batch.schema;
    else if (!(A.util.compareSchemas(this.arrowSchema, batch.schema) as boolean)) {
      // The same fields, typed by the first batch (a column whose type varies would break the file).
      batch = new A.RecordBatch(this.arrowSchema, batch.data);
    }
    try {
      if (this.options.batches) this.options.batches.write(batch);
      else this.writer!.write(batch);
    } catch (err) {
      if (err instanceof TsnormError) throw err;
      throw new TsnormError(`${this.name}: cannot write this as Arrow: ${(err as Error).message}`, 'TSNORM_OUTPUT');
    }
  }

  /** cellsData, with a value the column's type cannot hold refused naming the output and the column. */
  private columnData(column: string, spec: Omit<ColumnSpec, 'name' | 'role'>, cells: CellValue[]): A.Data {
    try {
      return cellsData(spec, cells);
    } catch (err) {
      if (err instanceof TsnormError) throw new TsnormError(`${this.name}: column '${column}': ${err.message}`, 'TSNORM_OUTPUT');
      throw err;
    }
  }

  /**
   * What the Arrow writer produced, to the sink in one write: many small pieces, and views of the
   * block's arrays (values, pass-through buffers). Where the sink takes them as they are (one
   * writev), they are not copied: the write goes on while the next batch is computed, and the
   * next call to write() (or finish) waits for it, as the SeriesWriter contract allows. Other
   * sinks get one joined copy. One write is in flight at a time.
   */
  private async drain(): Promise<void> {
    if (this.options.batches) return this.options.batches.drain();
    const chunks = this.queue.chunks;
    this.queue.chunks = [];
    // Before anything else: the caller may reuse the arrays of the last write once this resolves.
    await this.inFlight;
    if (chunks.length === 0) return;
    const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
    // A small batch (an input of tiny record batches) is copied and gathered with the next ones
    // into one write: a write per batch costs more than the batch.
    if (bytes < SMALL_WRITE_BYTES && this.gathers) {
      if (this.staged + bytes > this.stage.length) {
        await this.writeStaged();
        if (this.stage.length === 0) this.stage = new Uint8Array(STAGE_BYTES);
      }
      for (const c of chunks) {
        this.stage.set(c, this.staged);
        this.staged += c.byteLength;
      }
      return;
    }
    await this.writeStaged();
    this.inFlight = handled(this.sink.writev ? this.sink.writev(chunks) : this.sink.write(Buffer.concat(chunks)));
  }

  /** Writes what small batches gathered (see drain); the buffer is free again once it has. */
  private async writeStaged(): Promise<void> {
    if (this.staged === 0) return;
    const bytes = this.stage.subarray(0, this.staged);
    this.staged = 0;
    this.inFlight = handled(this.sink.write(bytes));
    await this.inFlight;
  }

  /**
   * The long layout: a record batch of the block's rows, the schema's columns in order (the
   * columns: channels are views of the block's values unless `copy`, for columns kept beyond
   * this write).
   */
  private longBatch(b: DataBlock): A.RecordBatch {
    const children = this.longColumns(b, false);
    return batchOf(this.longFields(children), children, b.stepCount, this.schema!.metadata);
  }

  private longFields(children: readonly A.Data[]): A.Field[] {
    return this.schema!.columns.map((spec, j) => new A.Field(spec.name, children[j]!.type, true, spec.metadata && new Map(spec.metadata)));
  }

  private longColumns(b: DataBlock, copy: boolean): A.Data[] {
    const schema = this.schema!;
    const children: A.Data[] = [];
    let carried = 0;
    for (const spec of schema.columns) {
      let data: A.Data;
      if (spec.role === 'channel') {
        const k = this.channelIndex.get(spec)!;
        data = channelData(b, k, this.outputTypes[k]!, this.keepsNaN, copy);
      } else if (spec.generated) {
        data = generatedData(b, spec.generated);
      } else {
        const col = b.pass?.[carried++];
        // The input's own buffers where it was Arrow. Dictionaries are written decoded: one that
        // grows or is replaced between batches cannot go to the file format, and polars refuses
        // dictionary deltas. View types (Utf8View) are written as plain strings, which
        // apache-arrow writes correctly and every reader reads.
        if (col instanceof ArrowPassColumn && A.DataType.isDictionary(col.vector.type))
          data =
            decodedDictionary(col.vector) ??
            this.columnData(
              spec.name,
              spec,
              Array.from({ length: b.stepCount }, (_, i) => col.value(i)),
            );
        else if (col instanceof ArrowPassColumn) data = withoutViews(col.vector.data[0]!);
        else
          data = this.rowCells(
            spec,
            b,
            Array.from({ length: b.stepCount }, (_, i) => col?.value(i) ?? null),
          );
      }
      children.push(data);
    }
    return children;
  }

  /**
   * A column of a block's rows from their cells. From a list layout, a list column whose lists
   * have the series' length spreads over the rows, an element a row: its column is of the
   * element type, and a list of another length has no place in it.
   */
  private rowCells(spec: ColumnSpec, b: DataBlock, cells: CellValue[]): A.Data {
    if (this.schema!.orientation === 'series' && spec.type === 'list') {
      if (cells.some((c) => Array.isArray(c))) {
        throw new TsnormError(
          `${this.name}: column '${spec.name}': ${this.schema!.describeInstance?.(b.instance) ?? `instance ${b.instance}`} has a list whose length is not its series' (${b.instanceSteps ?? b.stepCount}), which the long layout cannot spread over its rows: write the list layout (--output-layout list) or CSV`,
          'TSNORM_OUTPUT',
        );
      }
      return this.columnData(spec.name, { ...spec, type: spec.element ?? 'utf8' }, cells);
    }
    return this.columnData(spec.name, spec, cells);
  }

  /** The list layout: a record batch of the collected instances, one row each. */
  private async writeListBatch(): Promise<void> {
    const rows = this.listRows;
    this.listRows = [];
    const schema = this.schema!;
    const fields: A.Field[] = [];
    const children: A.Data[] = [];
    let carried = 0;
    let channelsDone = false;
    for (const spec of schema.columns) {
      let data: A.Data;
      if (spec.role === 'channel') {
        if (schema.nestedChannels) {
          if (channelsDone) continue;
          channelsDone = true;
          data = this.listShaped(spec, () => nestedListData(rows, this.outputTypes, this.keepsNaN, spec.innerList, spec.list));
          fields.push(new A.Field(schema.nestedChannels, data.type, true));
          children.push(data);
          continue;
        }
        const k = this.channelIndex.get(spec)!;
        data = this.listShaped(spec, () => listData(rows, k, this.outputTypes[k]!, this.keepsNaN, spec.list));
      } else if (spec.generated) {
        data = this.columnData(
          spec.name,
          spec.generated === 'instance' ? { ...spec, type: 'int64' } : { ...spec, type: 'list', element: 'int64' },
          rows.map((b) => (spec.generated === 'instance' ? b.instance : Array.from({ length: b.stepCount }, (_, t) => t))),
        );
      } else {
        const k = carried++;
        // From rows (a long table), every column but the id holds a list of its rows' values per instance.
        const perRow = schema.orientation === 'rows' && spec.role === 'pass';
        data =
          (perRow ? undefined : ownInstanceData(rows, k)) ??
          this.columnData(
            spec.name,
            perRow ? { ...spec, type: 'list', element: spec.type } : spec,
            rows.map((b) => b.instancePass?.[k] ?? null),
          );
      }
      fields.push(new A.Field(spec.name, data.type, true, spec.metadata && new Map(spec.metadata)));
      children.push(data);
    }
    this.writeBatch(batchOf(fields, children, rows.length, schema.metadata));
    await this.drain();
  }

  /** A list column made by `make`, or the error that says why the input's list type cannot hold it. */
  private listShaped(spec: ColumnSpec, make: () => A.Data): A.Data {
    try {
      return make();
    } catch (err) {
      if (err instanceof TsnormError) throw new TsnormError(`${this.name}: column '${spec.name}': ${err.message}`, 'TSNORM_OUTPUT');
      throw err;
    }
  }

  /** No rows at all: the schema alone, with the types the schema names. */
  private emptyBatch(): A.RecordBatch {
    const schema = this.schema!;
    const channels = schema.columns.filter((c) => c.role === 'channel');
    const children: A.Data[] = [];
    const fields: A.Field[] = [];
    for (const spec of schema.columns) {
      let data: A.Data;
      if (spec.role === 'channel') {
        if (schema.nestedChannels && spec !== channels[0]) continue;
        const k = schema.nestedChannels ? 0 : this.channelIndex.get(spec)!;
        data = numericData(this.outputTypes[k] ?? 'float64', false, 0, () => NaN);
        // The list layout: lists as the input stored them (a list of lists for one nested column).
        if (this.options.layout === 'list') {
          if (schema.nestedChannels) data = listOf(data, Int32Array.of(0), spec.innerList);
          data = listOf(data, Int32Array.of(0), spec.list);
        }
      } else {
        data = A.vectorFromArray([], arrowType(spec.generated ? { ...spec, type: 'int64' } : spec)).data[0]!;
      }
      fields.push(
        new A.Field(
          spec.role === 'channel' && schema.nestedChannels ? schema.nestedChannels : spec.name,
          data.type,
          true,
          spec.metadata && new Map(spec.metadata),
        ),
      );
      children.push(data);
    }
    return batchOf(fields, children, 0, schema.metadata);
  }
}

/**
 * Per-instance column k of the rows as the input held it (Arrow's list layout: one-row columns
 * of its own type, see DataBlock.instanceColumns), joined; undefined where a row has none or the
 * type is one concatData does not join (then its values are written by type).
 */
function ownInstanceData(rows: readonly DataBlock[], k: number): A.Data | undefined {
  const parts: A.Data[] = [];
  for (const b of rows) {
    const col = b.instanceColumns?.[k];
    if (!(col instanceof ArrowPassColumn)) return undefined;
    const data = A.DataType.isDictionary(col.vector.type) ? decodedDictionary(col.vector) : col.vector.data[0];
    if (data === undefined) return undefined;
    parts.push(withoutViews(data));
  }
  return concatData(parts);
}

/**
 * A dictionary of strings, decoded by gathering the dictionary's bytes (no string per row).
 * (apache-arrow slices value and offset buffers; a Data's `offset` applies to its validity bits.)
 */
function decodedDictionary(v: A.Vector): A.Data | undefined {
  const data = v.data[0]!;
  const flat = data.dictionary && flatStrings(data.dictionary);
  if (!flat) return undefined;
  const keys = data.values as ArrayLike<number>;
  const { offsets: dOffsets, bytes: dBytes } = flat;
  const n = data.length;
  const offsets = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (data.getValid(i)) {
      const k = Number(keys[i]);
      total += dOffsets[k + 1]! - dOffsets[k]!;
    }
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < n; i++) {
    if (offsets[i + 1] === offsets[i]) continue;
    const k = Number(keys[i]);
    bytes.set(dBytes.subarray(dOffsets[k]!, dOffsets[k + 1]!), offsets[i]!);
  }
  const nulls = data.nullCount;
  const valid = nulls > 0 ? Array.from({ length: n }, (_, i) => data.getValid(i)) : undefined;
  // The dictionary's own value type: large_string (pandas writes its categories so) stays large_string.
  if (A.DataType.isLargeUtf8(data.dictionary!.type)) {
    return A.makeData({
      type: new A.LargeUtf8(),
      length: n,
      valueOffsets: BigInt64Array.from(offsets, BigInt),
      data: bytes,
      ...(valid ? validity(valid) : {}),
    });
  }
  return A.makeData({ type: new A.Utf8(), length: n, valueOffsets: offsets, data: bytes, ...(valid ? validity(valid) : {}) });
}

const flatDictionaries = new WeakMap<A.Vector, { offsets: Int32Array; bytes: Uint8Array }>();

/** A dictionary's strings as one offsets and one bytes array (deltas arrive as more chunks). */
function flatStrings(dict: A.Vector): { offsets: Int32Array; bytes: Uint8Array } | undefined {
  const large = A.DataType.isLargeUtf8(dict.type);
  if (!A.DataType.isUtf8(dict.type) && !large) return undefined;
  let flat = flatDictionaries.get(dict);
  if (flat) return flat;
  if (large) {
    // 64-bit offsets as 32-bit ones: a dictionary of 2 GB or more is left to the slow path.
    const strings = Array.from({ length: dict.length }, (_, i) => (dict.get(i) as string | null) ?? '');
    const bytes = Buffer.from(strings.join(''), 'utf8');
    if (bytes.length > 0x7fffffff) return undefined;
    const offsets = new Int32Array(dict.length + 1);
    strings.forEach((str, i) => {
      offsets[i + 1] = offsets[i]! + Buffer.byteLength(str, 'utf8');
    });
    flat = { offsets, bytes };
  } else if (dict.data.length === 1) {
    flat = { offsets: dict.data[0]!.valueOffsets as Int32Array, bytes: dict.data[0]!.values as Uint8Array };
  } else {
    const offsets = new Int32Array(dict.length + 1);
    const parts: Uint8Array[] = [];
    let row = 0;
    let at = 0;
    for (const chunk of dict.data) {
      const o = chunk.valueOffsets as Int32Array;
      parts.push((chunk.values as Uint8Array).subarray(o[0]!, o[chunk.length]!));
      for (let i = 0; i < chunk.length; i++) offsets[++row] = at + o[i + 1]! - o[0]!;
      at += o[chunk.length]! - o[0]!;
    }
    flat = { offsets, bytes: Buffer.concat(parts) };
  }
  flatDictionaries.set(dict, flat);
  return flat;
}

function isViewType(t: A.DataType): boolean {
  return A.DataType.isUtf8View(t) || A.DataType.isBinaryView(t);
}

function hasViews(t: A.DataType): boolean {
  return isViewType(t) || (A.DataType.isStruct(t) && t.children.some((f) => hasViews(f.type as A.DataType)));
}

/**
 * The data with its view types (string_view, binary_view: polars' default strings) as plain utf8
 * and binary, also inside structs: apache-arrow writes a slice of a view column with its views but
 * not its data, which readers refuse, and every reader reads the plain types.
 */
function withoutViews(data: A.Data): A.Data {
  const type = data.type as A.DataType;
  if (!hasViews(type)) return data;
  if (isViewType(type)) {
    const v = A.makeVector(data);
    const values = Array.from({ length: data.length }, (_, i) => v.get(i) as string | Uint8Array | null);
    return A.vectorFromArray(values, A.DataType.isUtf8View(type) ? new A.Utf8() : new A.Binary()).data[0]!;
  }
  const children = data.children.map(withoutViews);
  const fields = (type as A.Struct).children.map((f, k) => f.clone({ type: children[k]!.type }));
  return A.makeData({ type: new A.Struct(fields), length: data.length, offset: data.offset, nullCount: data.nullCount, nullBitmap: data.nullBitmap, children });
}

function batchOf(fields: A.Field[], children: A.Data[], length: number, metadata: ReadonlyMap<string, string> | undefined): A.RecordBatch {
  return new A.RecordBatch(new A.Schema(fields, metadata && new Map(metadata)), A.makeData({ type: new A.Struct(fields), length, children }));
}

function floatType(t: 'float32' | 'float64'): A.Float {
  return t === 'float32' ? new A.Float32() : new A.Float64();
}

/** The types a channel is written as: floats, or (keeping the input's type) integers. */
const CHANNEL_TYPES = ['float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'] as const;
type ChannelType = (typeof CHANNEL_TYPES)[number];

/**
 * Channel k of a block as a column. A NaN is null (a missing value, or a result made missing);
 * with `keepNaN` (values kept as they were) only a missing value is, and the data's NaNs stay NaN.
 */
function channelData(b: DataBlock, k: number, type: ChannelType, keepNaN: boolean, copy = false): A.Data {
  const n = b.stepCount;
  const from = channelStart(b, b.firstChannel + k);
  const sameType = type === 'float32' ? b.values instanceof Float32Array : type === 'float64' && b.values instanceof Float64Array;
  if (b.stepStride === 1 && sameType && !copy) {
    const values = b.values.subarray(from, from + n);
    return A.makeData({ type: floatType(type as 'float32' | 'float64'), length: n, data: values, ...missingAsNull(values, keepNaN) });
  }
  return numericData(type, keepNaN, n, (t) => b.values[from + t * b.stepStride]!);
}

/**
 * n values of a channel as a column of `type`: integers (kept from an integer input, so every
 * value is one: readers refuse one float64 would have rounded) and floats; NaN as null (see channelData).
 */
function numericData(type: ChannelType, keepNaN: boolean, n: number, value: (t: number) => number): A.Data {
  if (type === 'float32' || type === 'float64') {
    const values = type === 'float32' ? new Float32Array(n) : new Float64Array(n);
    for (let t = 0; t < n; t++) values[t] = value(t);
    return A.makeData({ type: floatType(type), length: n, data: values, ...missingAsNull(values, keepNaN) });
  }
  const valid: boolean[] = new Array<boolean>(n);
  let data: ArrayBufferView;
  if (type === 'int64' || type === 'uint64') {
    const values = type === 'int64' ? new BigInt64Array(n) : new BigUint64Array(n);
    for (let t = 0; t < n; t++) {
      const x = value(t);
      valid[t] = x === x;
      if (x === x) values[t] = BigInt(x);
    }
    data = values;
  } else {
    const values = new (intArray(arrowType({ type }) as A.Int))(n);
    for (let t = 0; t < n; t++) {
      const x = value(t);
      valid[t] = x === x;
      if (x === x) values[t] = x;
    }
    data = values;
  }
  return A.makeData({ type: arrowType({ type }) as A.Int, length: n, data: data as Int32Array, ...validity(valid) });
}

/** A validity bitmap with NaN (with `keepNaN`, the missing value only) as null, when there is one. */
function missingAsNull(values: Float32Array | Float64Array, keepNaN: boolean): { nullBitmap?: Uint8Array; nullCount?: number } {
  if (countNaN(values) === 0) return {};
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  let nulls = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x === x || (keepNaN && !isNullValue(x))) bitmap[i >> 3]! |= 1 << (i & 7);
    else nulls++;
  }
  return nulls === 0 ? {} : { nullBitmap: bitmap, nullCount: nulls };
}

function generatedData(b: DataBlock, of: 'instance' | 'step'): A.Data {
  const values = new BigInt64Array(b.stepCount);
  for (let t = 0; t < b.stepCount; t++) values[t] = BigInt(of === 'instance' ? b.instance : b.firstStep + t);
  return A.makeData({ type: new A.Int64(), length: b.stepCount, data: values });
}

/** One channel of each instance, as a List column. */
function listData(rows: DataBlock[], k: number, type: ChannelType, keepNaN: boolean, shape?: ListShape): A.Data {
  const offsets = new Int32Array(rows.length + 1);
  const starts: number[] = [];
  let total = 0;
  rows.forEach((b, r) => {
    starts.push(total);
    total += b.stepCount;
    offsets[r + 1] = total;
  });
  // Row r's values: its channel k, from the block's own array.
  let r = 0;
  const child = numericData(type, keepNaN, total, (i) => {
    while (i >= offsets[r + 1]!) r++;
    const b = rows[r]!;
    return b.values[channelStart(b, k) + (i - starts[r]!) * b.stepStride]!;
  });
  return listOf(child, offsets, shape);
}

/**
 * Lists of `child`'s values, list r being [offsets[r], offsets[r + 1]), stored as `shape` says:
 * the input's list type (a fixed_size_list's lists must all have its size).
 */
function listOf(child: A.Data, offsets: Int32Array, shape: ListShape = { kind: 'list' }): A.Data {
  const length = offsets.length - 1;
  const item = new A.Field('item', child.type, true);
  if (shape.kind === 'large_list') {
    return A.makeData({ type: new A.LargeList(item), length, valueOffsets: BigInt64Array.from(offsets, BigInt), child } as never);
  }
  if (shape.kind === 'fixed_size_list') {
    const size = shape.size!;
    for (let r = 0; r < length; r++) {
      if (offsets[r + 1]! - offsets[r]! !== size)
        throw new TsnormError(`a list of ${offsets[r + 1]! - offsets[r]!} values does not fit the input's type, fixed_size_list[${size}]`, 'TSNORM_OUTPUT');
    }
    return A.makeData({ type: new A.FixedSizeList(size, item), length, child });
  }
  return A.makeData({ type: new A.List(item), length, valueOffsets: offsets, child });
}

/** All channels of each instance as one List of Lists column (C x L). */
function nestedListData(rows: DataBlock[], types: ChannelType[], keepNaN: boolean, inner?: ListShape, outer?: ListShape): A.Data {
  const C = rows[0]?.channelCount ?? types.length;
  const seriesBlocks: DataBlock[] = [];
  for (const b of rows) {
    for (let c = 0; c < b.channelCount; c++) {
      seriesBlocks.push({ ...b, values: b.values, offset: channelStart(b, c), firstChannel: 0, channelCount: 1 });
    }
  }
  const series = listData(seriesBlocks, 0, types[0] ?? 'float64', keepNaN, inner);
  return listOf(
    series,
    Int32Array.from({ length: rows.length + 1 }, (_, r) => r * C),
    outer,
  );
}

const TIME_UNITS: Record<TimeUnit, A.TimeUnit> = { s: A.TimeUnit.SECOND, ms: A.TimeUnit.MILLISECOND, us: A.TimeUnit.MICROSECOND, ns: A.TimeUnit.NANOSECOND };

/** The Arrow type for a column the schema describes (when no Arrow vector of the input carries it). */
function arrowType(spec: Omit<ColumnSpec, 'name' | 'role'>): A.DataType {
  const scalar = (t: ElementType | undefined): A.DataType => {
    switch (t) {
      case 'bool':
        return new A.Bool();
      case 'int8':
        return new A.Int8();
      case 'int16':
        return new A.Int16();
      case 'int32':
        return new A.Int32();
      case 'int64':
        return new A.Int64();
      case 'uint8':
        return new A.Uint8();
      case 'uint16':
        return new A.Uint16();
      case 'uint32':
        return new A.Uint32();
      case 'uint64':
        return new A.Uint64();
      case 'float16':
      case 'float32':
        return new A.Float32();
      case 'float64':
        return new A.Float64();
      case 'timestamp':
        return new A.Timestamp(TIME_UNITS[spec.unit ?? 'ms'], spec.timezone ?? null);
      case 'date':
        return new A.DateMillisecond();
      default:
        return new A.Utf8();
    }
  };
  return spec.type === 'list' ? new A.List(new A.Field('item', scalar(spec.element), true)) : scalar(spec.type);
}

/** A column of typed cells. */
function cellsData(spec: Omit<ColumnSpec, 'name' | 'role'>, cells: CellValue[]): A.Data {
  if (spec.type === 'list') {
    // Offsets and one child column of all the elements, typed as the elements are.
    const offsets = new Int32Array(cells.length + 1);
    const flat: CellValue[] = [];
    cells.forEach((c, i) => {
      if (Array.isArray(c)) flat.push(...(c as CellValue[]));
      offsets[i + 1] = flat.length;
    });
    const child = cellsData({ ...spec, type: spec.element ?? 'utf8' }, flat);
    return A.makeData({
      type: new A.List(new A.Field('item', child.type, true)),
      length: cells.length,
      valueOffsets: offsets,
      child,
      ...validity(cells.map((c) => c !== null)),
    });
  }
  const type = arrowType(spec);
  const n = cells.length;
  if ((A.DataType.isInt(type) && type.bitWidth === 64) || A.DataType.isTimestamp(type)) {
    const values = type instanceof A.Uint64 ? new BigUint64Array(n) : new BigInt64Array(n);
    const valid = cells.map((c) => c !== null);
    const unsigned = type instanceof A.Uint64;
    cells.forEach((c, i) => {
      if (c === null) return;
      const v = BigInt(typeof c === 'number' ? Math.trunc(c) : (c as bigint | string));
      // A typed array wraps what it cannot hold: refused instead (readers check first, with the line).
      if ((unsigned ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v)) !== v)
        throw new TsnormError(`${v} does not fit ${unsigned ? 'uint64' : 'int64'}`, 'TSNORM_OUTPUT');
      values[i] = v;
    });
    return A.makeData({ type: type as A.Int64, length: n, data: values as BigInt64Array, ...validity(valid) });
  }
  if (A.DataType.isInt(type) || A.DataType.isFloat(type)) {
    const values = A.DataType.isFloat(type)
      ? type.precision === A.Precision.SINGLE
        ? new Float32Array(n)
        : new Float64Array(n)
      : new (intArray(type as A.Int))(n);
    cells.forEach((c, i) => {
      if (c !== null) values[i] = Number(c);
    });
    return A.makeData({ type: type as A.Float64, length: n, data: values as Float64Array, ...validity(cells.map((c) => c !== null)) });
  }
  const plain = cells.map((c) => (c === null ? null : A.DataType.isUtf8(type) && typeof c !== 'string' ? String(c) : c));
  return A.vectorFromArray(plain as unknown[], type).data[0]!;
}

function intArray(t: A.Int): new (n: number) => Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array {
  const signed = { 8: Int8Array, 16: Int16Array, 32: Int32Array } as const;
  const unsigned = { 8: Uint8Array, 16: Uint16Array, 32: Uint32Array } as const;
  return (t.isSigned ? signed : unsigned)[t.bitWidth as 8 | 16 | 32];
}

function validity(valid: boolean[]): { nullBitmap?: Uint8Array; nullCount?: number } {
  const nulls = valid.filter((v) => !v).length;
  if (nulls === 0) return {};
  const bitmap = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((v, i) => {
    if (v) bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullBitmap: bitmap, nullCount: nulls };
}
