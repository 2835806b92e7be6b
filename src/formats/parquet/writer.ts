import * as A from 'apache-arrow';
import { TsnormError } from '../../errors.js';
import { type ByteSink, ClosedOutputError } from '../../io/byte-sink.js';
import { ArrowWriter, type BatchConsumer } from '../arrow/writer.js';
import type { OutputCodec } from '../format.js';
import { DEFAULT_PARQUET_CODEC, DEFAULT_ROW_GROUP_ROWS } from './defaults.js';
import type { SeriesWriter } from '../types.js';
import { type ParquetWasm, loadParquetWasm, parquetWasmFor } from './wasm.js';

export interface ParquetWriterOptions {
  readonly dtype?: 'float32' | 'float64' | undefined;
  readonly keepTypes?: boolean | undefined;
  readonly layout: 'long' | 'list';
  readonly codec?: OutputCodec | undefined;
  readonly rowGroupRows?: number | undefined;
}

/**
 * Writes Parquet: the Arrow writer builds the record batches (channels, pass-through columns
 * with their types, schema metadata), and parquet-wasm (arrow-rs) encodes them, a row group at a
 * time, with column statistics and the Arrow schema in the footer (so that readers get the same
 * types and metadata back).
 */
export async function openParquetWriter(sink: ByteSink, options: ParquetWriterOptions): Promise<SeriesWriter> {
  const wasm = await loadParquetWasm();
  return new ArrowWriter(sink, {
    stream: false,
    dtype: options.dtype,
    keepTypes: options.keepTypes,
    layout: options.layout,
    batches: new ParquetBatches(wasm, sink, options),
  });
}

/** Record batches into parquet-wasm's streaming writer, its bytes into the sink. */
class ParquetBatches implements BatchConsumer {
  private readonly queue: unknown[] = [];
  private ended = false;
  /** Resolves the transform's pull that waits for a batch. */
  private wake: (() => void) | undefined;
  /** Resolves drain() once the transform has taken what was queued. */
  private taken: (() => void) | undefined;
  private pump: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly wasm: ParquetWasm,
    private readonly sink: ByteSink,
    private readonly options: ParquetWriterOptions,
  ) {}

  write(batch: A.RecordBatch): void {
    this.fail();
    parquetWasmFor(this.sink.name, true);
    const table = this.wasm.Table.fromIPCStream(A.tableToIPC(new A.Table([parquetTypes(withNullCounts(batch), this.sink.name)]), 'stream'));
    for (const b of table.recordBatches()) this.queue.push(b);
    table.free();
    this.pump ??= this.start(batch.schema);
    this.wake?.();
  }

  async drain(): Promise<void> {
    while (this.queue.length > 0 && this.failure === undefined) await new Promise<void>((resolve) => (this.taken = resolve));
    this.fail();
  }

  async finish(): Promise<void> {
    this.ended = true;
    this.wake?.();
    await this.pump;
    this.fail();
  }

  async abort(): Promise<void> {
    this.ended = true;
    this.failure ??= new Error('aborted');
    this.wake?.();
    await this.pump?.catch(() => undefined);
  }

  private fail(): void {
    if (this.failure === undefined) return;
    // stdout closed by its reader (`| head`): the run ends quietly, as for every format.
    if (this.failure instanceof ClosedOutputError) throw this.failure;
    const why = this.failure instanceof Error ? this.failure.message : String(this.failure);
    if (this.failure instanceof TsnormError) throw this.failure;
    throw new TsnormError(`${this.sink.name}: cannot write this as Parquet: ${why.split('\n')[0]}`, 'TSNORM_OUTPUT');
  }

  private async start(schema: A.Schema): Promise<void> {
    const input = new ReadableStream(
      {
        pull: async (controller) => {
          while (this.queue.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
          if (this.failure !== undefined) controller.error(this.failure);
          else if (this.queue.length > 0) controller.enqueue(this.queue.shift());
          else controller.close();
          if (this.queue.length === 0) this.taken?.();
        },
      },
      { highWaterMark: 0 },
    );
    try {
      const output = await this.wasm.transformParquetStream(input, this.properties(schema));
      const reader = output.getReader();
      for (;;) {
        const next = await reader.read();
        if (next.done) break;
        await this.sink.write(next.value as Uint8Array);
      }
    } catch (err) {
      this.failure ??= err;
      this.taken?.();
    }
  }

  /**
   * The codec, the row group size, format 2, and the schema's metadata as the file's key-value
   * metadata too: pyarrow gets it back from the Arrow schema stored in the footer, while DuckDB,
   * Spark and polars read the key-value pairs.
   */
  private properties(schema: A.Schema) {
    const { WriterPropertiesBuilder, Compression, WriterVersion } = this.wasm;
    const codec = this.options.codec ?? DEFAULT_PARQUET_CODEC;
    const compression = {
      zstd: Compression.ZSTD,
      snappy: Compression.SNAPPY,
      gzip: Compression.GZIP,
      lz4: Compression.LZ4_RAW,
      brotli: Compression.BROTLI,
      none: Compression.UNCOMPRESSED,
    }[codec];
    let builder = new WriterPropertiesBuilder()
      .setCompression(compression)
      .setMaxRowGroupSize(this.options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS)
      // Format 2: the logical types of unsigned integers and nanosecond timestamps, as pyarrow writes.
      .setWriterVersion(WriterVersion.V2)
      .setKeyValueMetadata(new Map(schema.metadata));
    // Dictionary encoding pays for repeated values (ids, labels); floating-point channels rarely
    // repeat, and trying a dictionary before falling back to plain took most of the write.
    for (const f of schema.fields) {
      if (A.DataType.isFloat(f.type) && f.type.precision !== A.Precision.HALF) builder = builder.setColumnDictionaryEnabled(f.name, false);
      // Fixed-length byte arrays (float16, decimals, fixed_size_binary) fall back to PLAIN, not
      // to format 2's DELTA_BYTE_ARRAY, which polars does not read for them.
      if (A.DataType.isDecimal(f.type) || A.DataType.isFixedSizeBinary(f.type) || (A.DataType.isFloat(f.type) && f.type.precision === A.Precision.HALF))
        builder = builder.setColumnEncoding(f.name, this.wasm.Encoding.PLAIN);
    }
    return builder.build();
  }
}

/**
 * The batch with the null count of every Null-typed column (nested ones too) spelled out:
 * apache-arrow leaves it unknown (-1) in slices, which the IPC message carries and arrow-rs refuses.
 */
function withNullCounts(batch: A.RecordBatch): A.RecordBatch {
  const fix = (d: A.Data): A.Data => {
    const children = d.children.map(fix);
    const nullCount = A.DataType.isNull(d.type) ? d.length : d.nullCount;
    if (nullCount === d.nullCount && children.every((c, i) => c === d.children[i])) return d;
    return d.clone(d.type, d.offset, d.length, nullCount, d.buffers, children);
  };
  const data = fix(batch.data);
  return data === batch.data ? batch : new A.RecordBatch(batch.schema, data as A.Data<A.Struct>);
}

/**
 * Types Parquet has no annotation for, as pyarrow writes them, every value kept: timestamps and
 * times in seconds as milliseconds, date64 (milliseconds) as date32 (days) where each value is a
 * whole day. Written as they are, arrow-rs would store bare integers that other readers take for
 * int64 and int32.
 */
function parquetTypes(batch: A.RecordBatch, name: string): A.RecordBatch {
  const fields = [...batch.schema.fields];
  const children = [...batch.data.children];
  let changed = false;
  for (const [j, f] of fields.entries()) {
    const d = children[j]!;
    const t = d.type as A.DataType;
    let type: A.DataType | undefined;
    let values: BigInt64Array | Int32Array | undefined;
    const vector = new A.Vector([d]);
    const source = d.values as BigInt64Array | Int32Array;
    if (A.DataType.isTimestamp(t) && t.unit === A.TimeUnit.SECOND) {
      type = new A.TimestampMillisecond(t.timezone);
      values = BigInt64Array.from(source as BigInt64Array, (v, i) => {
        if (vector.isValid(i) && (v > 9223372036854775n || v < -9223372036854775n))
          throw new TsnormError(`${name}: column '${f.name}': ${v} s is beyond what Parquet's millisecond timestamps hold`, 'TSNORM_OUTPUT');
        return v * 1000n;
      });
    } else if (A.DataType.isTime(t) && t.unit === A.TimeUnit.SECOND) {
      type = new A.TimeMillisecond();
      values = Int32Array.from(source as Int32Array, (v) => v * 1000);
    } else if (A.DataType.isDate(t) && t.unit === A.DateUnit.MILLISECOND) {
      type = new A.DateDay();
      values = Int32Array.from(source as unknown as ArrayLike<bigint>, (v, i) => {
        const ms = Number(v);
        if (vector.isValid(i) && ms % 86400000 !== 0)
          throw new TsnormError(
            `${name}: column '${f.name}': a date64 with a time of day (${ms} ms), which Parquet's dates cannot hold: write Arrow`,
            'TSNORM_OUTPUT',
          );
        return ms / 86400000;
      });
    }
    if (!type || !values) continue;
    const bitmap = d.nullCount > 0 ? new Uint8Array((d.length + 7) >> 3) : undefined;
    if (bitmap) for (let i = 0; i < d.length; i++) if (vector.isValid(i)) bitmap[i >> 3]! |= 1 << (i & 7);
    children[j] = A.makeData({ type, length: d.length, nullCount: d.nullCount, nullBitmap: bitmap, data: values } as never);
    fields[j] = new A.Field(f.name, type, f.nullable, f.metadata);
    changed = true;
  }
  if (!changed) return batch;
  const schema = new A.Schema(fields, batch.schema.metadata);
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(fields), length: batch.numRows, nullCount: 0, children }));
}
