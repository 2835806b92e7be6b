import * as A from 'apache-arrow';
import type { Values } from '../../core/block.js';
import { allocateValues, releaseValues } from '../../core/kernels/kernels.js';
import { NULL_VALUE } from '../../core/missing.js';
import { TsnormError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { IdRegistry } from '../id-registry.js';
import { roundedIntegerMessage, roundedToDouble } from '../number-text.js';
import type { CellValue, ColumnSpec, DataBlock, ElementType, Location, Schema, SeriesReader } from '../types.js';
import { ArrowPassColumn, cellOf, describeType, isNumericType } from './cells.js';
import { type ArrowReaderOptions, ArrowReaderBase, type BatchSource, fieldIndex, metadataOf } from './reader-base.js';

/** A block of the long layout, with the input row it starts at (for messages). */
interface ArrowBlock extends DataBlock {
  readonly row: number;
}

/**
 * The long layout: a row per time step, channels as numeric columns, an optional --id column
 * (any type; equal consecutive values form an instance). Each record batch becomes blocks cut
 * where the instance changes; the channels are copied into one channel-major array per batch
 * (float32 stays float32), every other column passes through as a slice of its vector.
 */
export class LongArrowReader extends ArrowReaderBase implements SeriesReader {
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
        if (!isNumericType(fields[i]!.type))
          throw new TsnormError(`${file}: --channels: column '${fields[i]!.name}' is ${fields[i]!.type}, not numbers`, 'TSNORM_ARROW');
        if (i === this.idField || keep.has(i)) throw new TsnormError(`${file}: --channels: '${fields[i]!.name}' is also --id or --keep`, 'TSNORM_ARROW');
      }
    } else {
      this.channelFields = fields.flatMap((f, i) => (i !== this.idField && !keep.has(i) && isNumericType(f.type) ? [i] : []));
    }
    if (this.channelFields.length === 0) {
      // A list-layout file (a row per instance) read as the long layout.
      const lists = fields.filter(
        (f) =>
          describeType(f.type).type === 'list' &&
          ['float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'list'].includes(
            describeType(f.type).element ?? '',
          ),
      );
      const hint =
        lists.length > 0
          ? `; its list columns (${lists.map((f) => f.name).join(', ')}) hold a series per row: --layout list reads them`
          : '; name them with --channels';
      throw new TsnormError(`${file}: no numeric column to normalize (columns: ${fields.map((f) => f.name).join(', ')})${hint}`, 'TSNORM_ARROW');
    }
    const channelSet = new Set(this.channelFields);
    const names = this.channelFields.map((i) => fields[i]!.name);
    const dup = names.find((n, k) => names.indexOf(n) !== k);
    if (dup !== undefined) throw new TsnormError(`${file}: more than one channel column is named '${dup}'`, 'TSNORM_ARROW');
    this.carriedFields = fields.flatMap((_f, i) => (channelSet.has(i) ? [] : [i]));
    this.carriedSpecs = this.carriedFields.map((i) => describeType(fields[i]!.type));
    const columns: ColumnSpec[] = fields.map((f, i) => ({
      name: f.name,
      ...describeType(f.type),
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
      columns,
      channels: this.channelFields.length,
      channelNames: names,
      unbatched: this.idField === undefined,
      valueType,
      orientation: 'rows',
      ...metadataOf(arrow.schema),
      describeInstance: (i) => {
        const id = this.ids.idAt(i);
        return id === undefined
          ? `instance ${i}`
          : `instance ${i} (id '${Buffer.from(id, 'latin1').toString('utf8').slice(0, 80)}', from row ${this.ids.lineAt(i)})`;
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
          instance: this.instance,
          values,
          offset: offset + r0,
          channelStride: stride,
          stepStride: 1,
          firstChannel: 0,
          channelCount: this.channelFields.length,
          firstStep: this.step,
          stepCount: r1 - r0,
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
              throw new TsnormError(
                `${this.name}: row ${this.rowsBefore + i}, column '${this.arrow.schema.fields[f]!.name}': ${roundedIntegerMessage(String(src[i]), this.arrow.schema.fields[f]!.name)}`,
                'TSNORM_ARROW',
              );
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
        if (!data.getValid(r))
          throw new TsnormError(
            `${this.name}: row ${this.rowsBefore + r}: the --id column '${this.arrow.schema.fields[this.idField]!.name}' is null: every row needs an id`,
            'TSNORM_ARROW',
          );
      }
    }
    const runs: [number, boolean][] = [];
    for (const r of [0, ...changedRows(ids, n)]) {
      const id = cellOf(ids, r);
      // A dictionary's value may be null where its index is not.
      if (id === null)
        throw new TsnormError(
          `${this.name}: row ${this.rowsBefore + r}: the --id column '${this.arrow.schema.fields[this.idField]!.name}' is null: every row needs an id`,
          'TSNORM_ARROW',
        );
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
      throw new TsnormError(
        `${this.name}: row ${row}: id '${String(id).slice(0, 80)}' appears again after other ids (its rows began at row ${before}); the rows of one instance must be contiguous (sort by id first)`,
        'TSNORM_ARROW',
      );
    }
    this.ids.add(key, row);
    this.lastId = id;
  }

  override async close(): Promise<void> {
    for (const b of this.buffers) releaseValues(b);
    await super.close();
  }
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
      if (offsets[r + 1]! - a1 !== length) {
        out.push(r);
        continue;
      }
      for (let i = 0; i < length; i++) {
        if (bytes[a0 + i] !== bytes[a1 + i]) {
          out.push(r);
          break;
        }
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
