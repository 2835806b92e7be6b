import * as A from 'apache-arrow';
import { TsnormError } from '../../errors.js';
import type { ByteSink } from '../../io/byte-sink.js';
import { ArrowWriter, type BatchConsumer } from '../arrow/writer.js';
import type { OutputCodec } from '../format.js';
import { DEFAULT_PARQUET_CODEC, DEFAULT_ROW_GROUP_ROWS } from './defaults.js';
import type { SeriesWriter } from '../types.js';
import { type ParquetWasm, loadParquetWasm } from './wasm.js';

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
    const table = this.wasm.Table.fromIPCStream(A.tableToIPC(new A.Table([batch]), 'stream'));
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
    for (const f of schema.fields) if (A.DataType.isFloat(f.type)) builder = builder.setColumnDictionaryEnabled(f.name, false);
    return builder.build();
  }
}
