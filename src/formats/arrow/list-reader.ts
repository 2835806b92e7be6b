import * as A from 'apache-arrow';
import { NULL_VALUE } from '../../core/missing.js';
import { TsnormError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { roundedIntegerMessage, roundedToDouble } from '../number-text.js';
import type { ColumnSpec, DataBlock, Location, Schema, SeriesReader } from '../types.js';
import { ArrowPassColumn, cellOf, describeType, isNumericType, listShape } from './cells.js';
import { type ArrowReaderOptions, ArrowReaderBase, type BatchSource, fieldIndex, metadataOf } from './reader-base.js';

/**
 * The list layout: a row per instance (as Hugging Face datasets and GluonTS store series): each
 * channel a List, LargeList or FixedSizeList of numbers, or one column of lists of lists holding
 * C x L. Every other column passes through with one value per instance.
 */
export class ListArrowReader extends ArrowReaderBase implements SeriesReader {
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
    const isSeries = (t: A.DataType) => {
      const e = listOf(t);
      return e !== undefined && isNumericType(e);
    };
    const isNested = (t: A.DataType) => {
      const e = listOf(t);
      return e !== undefined && isSeries(e);
    };
    const keep = new Set((options.keep ?? []).map((k) => fieldIndex(arrow.schema, k, '--keep', file)));
    if (options.id !== undefined) fieldIndex(arrow.schema, options.id, '--id', file);
    if (options.channels) {
      this.channelFields = options.channels.map((c) => fieldIndex(arrow.schema, c, '--channels', file));
    } else {
      const nested = fields.flatMap((f, i) => (!keep.has(i) && isNested(f.type) ? [i] : []));
      this.channelFields = nested.length === 1 ? nested : fields.flatMap((f, i) => (!keep.has(i) && isSeries(f.type) ? [i] : []));
    }
    if (this.channelFields.length === 0) {
      throw new TsnormError(
        `${file}: --layout list: no column of lists of numbers (columns: ${fields.map((f) => `${f.name}: ${f.type}`).join(', ')})`,
        'TSNORM_ARROW',
      );
    }
    this.nested = this.channelFields.length === 1 && isNested(fields[this.channelFields[0]!]!.type);
    for (const i of this.channelFields) {
      if (!this.nested && !isSeries(fields[i]!.type))
        throw new TsnormError(`${file}: --layout list: column '${fields[i]!.name}' is ${fields[i]!.type}, not a list of numbers`, 'TSNORM_ARROW');
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
      return [
        { name: f.name, type: describeType(element).type, role: 'channel', list: listShape(f.type), innerList: inner && listShape(inner), ...metadataOf(f) },
      ];
    });
    // Every channel's type, whatever their order: one type for all, else float64.
    const channelTypes = columns.filter((c) => c.role === 'channel').map((c) => c.type);
    // With one nested column the channel count is known from the first row only: the schema is fixed when the first batch arrives.
    this.channelCount = this.nested ? 0 : this.channelFields.length;
    this.schema = {
      columns,
      channels: this.channelCount,
      channelNames: this.nested ? undefined : this.channelFields.map((i) => fields[i]!.name),
      unbatched: false,
      valueType: channelTypes.every((t) => t === channelTypes[0]) ? channelTypes[0]! : 'float64',
      orientation: 'series',
      ...(this.nested ? { nestedChannels: fields[this.channelFields[0]!]!.name } : {}),
      ...metadataOf(arrow.schema),
    };
  }

  locate(block: DataBlock, channel: number, step: number): Location {
    return this.nested
      ? { row: block.instance, column: this.schema.nestedChannels, channel, element: step }
      : { row: block.instance, column: this.schema.channelNames![channel], element: step };
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
    const where = (c: number) =>
      this.nested
        ? `column '${this.arrow.schema.fields[this.channelFields[0]!]!.name}', row ${row}`
        : `column '${this.arrow.schema.fields[this.channelFields[c]!]!.name}', row ${row}`;
    if (this.nested) {
      const v = batch.getChildAt(this.channelFields[0]!)!;
      const outer = v.get(r) as A.Vector | null;
      if (outer === null) throw new TsnormError(`${this.name}: ${where(0)}: null instead of a list of series`, 'TSNORM_ARROW');
      for (let c = 0; c < outer.length; c++) {
        const inner = outer.get(c) as A.Vector | null;
        if (inner === null) throw new TsnormError(`${this.name}: ${where(0)}: series ${c} is null`, 'TSNORM_ARROW');
        series.push(listValues(inner));
      }
    } else {
      this.channelFields.forEach((f, c) => {
        const inner = batch.getChildAt(f)!.get(r) as A.Vector | null;
        if (inner === null) throw new TsnormError(`${this.name}: ${where(c)}: null instead of a series`, 'TSNORM_ARROW');
        series.push(listValues(inner));
      });
    }
    const C = series.length;
    if (count && C !== this.channelCount)
      throw new TsnormError(`${this.name}: ${where(0)}: ${C} series, the first row had ${this.channelCount}`, 'TSNORM_ARROW');
    const L = series[0]?.length ?? 0;
    series.forEach((s, c) => {
      if (s.length !== L)
        throw new TsnormError(
          `${this.name}: ${where(c)}: ${s.length} values, but channel 0 has ${L}: the channels of an instance must have one length`,
          'TSNORM_ARROW',
        );
    });
    const values = new Float64Array(C * L);
    series.forEach((s, c) => {
      for (let t = 0; t < L; t++) {
        const x = s[t];
        values[c * L + t] = x === null || x === undefined ? NULL_VALUE : Number(x);
        if (this.exact && typeof x === 'bigint' && roundedToDouble(x, values[c * L + t]!))
          throw new TsnormError(
            `${this.name}: ${where(c)}, step ${t}: ${roundedIntegerMessage(String(x), this.nested ? undefined : this.arrow.schema.fields[this.channelFields[c]!]!.name)}`,
            'TSNORM_ARROW',
          );
      }
    });
    return {
      instance: count ? this.instance++ : 0,
      values,
      offset: 0,
      channelStride: L,
      stepStride: 1,
      firstChannel: 0,
      channelCount: C,
      firstStep: 0,
      stepCount: L,
      instanceSteps: L,
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
