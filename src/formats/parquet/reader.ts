import * as A from 'apache-arrow';
import { TsnormError } from '../../errors.js';
import { type ByteSource, readFully } from '../../io/byte-source.js';
import { checkSchemaNames, copyToScratch, readerOfBatches } from '../arrow/reader.js';
import type { ArrowReaderOptions, BatchSource } from '../arrow/reader-base.js';
import type { NumberedBatch } from '../arrow/small-batches.js';
import type { SeriesReader } from '../types.js';
import { fastPlan } from './footer.js';
import { fastBatches } from './pages.js';
import { loadParquetWasm, parquetWasmFor } from './wasm.js';

/** Rows per record batch handed to the table readers: large enough to amortise a batch, small enough to keep memory flat. */
const BATCH_ROWS = 65536;

/**
 * Opens Parquet input as Arrow record batches, which the Arrow table readers (long and list
 * layouts) take as they take an IPC file's. A file of flat columns goes through the page decoder
 * (pages.ts: a window of each column at a time); any other through parquet-wasm (every codec,
 * nested lists, INT96 and decimals, as arrow-rs reads them; a row group's column chunks fetched
 * when its rows are reached). The footer is at the end: from a pipe, the bytes are copied to a
 * scratch file first.
 */
export async function openParquetReader(input: ByteSource, options: ArrowReaderOptions): Promise<SeriesReader> {
  const src = input.seekable ? input : await copyToScratch(input);
  let batches: BatchSource;
  try {
    const footer = await checkEnds(src);
    // Flat numeric and text columns (the common case) are decoded here; the rest by parquet-wasm.
    const plan = process.env.TSNORM_PARQUET_DECODER === 'wasm' ? undefined : fastPlan(footer, src.size ?? 0);
    if (plan) {
      checkSchemaNames(plan.schema, `${src.name}: `, 'a corrupt file');
      batches = { schema: plan.schema, batches: () => named(src.name, fastBatches(src, plan, BATCH_ROWS)), close: async () => {} };
      return await readerOfBatches(src, batches, options);
    }
    const wasm = await loadParquetWasm();
    const file = await parquetCall(src.name, () => wasm.ParquetFile.fromFile(blobOf(src) as unknown as Blob));
    const schema = schemaOf(parquetCall(src.name, () => file.schema().intoIPCStream()));
    checkSchemaNames(schema, `${src.name}: `, 'a corrupt file');
    batches = {
      schema,
      async *batches(): AsyncIterable<NumberedBatch> {
        const stream = await parquetCall(src.name, () => file.stream({ batchSize: BATCH_ROWS }));
        const reader = stream.getReader();
        let index = 0;
        for (;;) {
          const next = await parquetCall(src.name, () => reader.read());
          if (next.done) break;
          const wasmBatch = next.value as { intoIPCStream(): Uint8Array };
          for (const batch of A.RecordBatchReader.from(wasmBatch.intoIPCStream())) yield { batch, index: index++ };
        }
      },
      async close() {
        file.free();
      },
    };
  } catch (err) {
    await src.close();
    throw err;
  }
  return readerOfBatches(src, batches, options);
}

/** The decoder's errors, named by the file. */
async function* named<T>(name: string, items: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* items;
  } catch (err) {
    if (err instanceof TsnormError) throw new TsnormError(`${name}: ${err.message}`, 'TSNORM_PARQUET');
    throw err;
  }
}

/** A Parquet file begins and ends with PAR1; what does not is refused before the decoder sees it. */
async function checkEnds(src: ByteSource): Promise<Uint8Array> {
  const size = src.size ?? 0;
  const head = new Uint8Array(4);
  const tail = new Uint8Array(8);
  const gotHead = await readFully(src, head, 0, 4, 0);
  if (gotHead < 4 || String.fromCharCode(...head) !== 'PAR1')
    throw new TsnormError(`${src.name}: not a Parquet file: it does not begin with PAR1`, 'TSNORM_PARQUET');
  if (size < 12 || (await readFully(src, tail, 0, 8, size - 8)) < 8 || String.fromCharCode(...tail.subarray(4)) !== 'PAR1')
    throw new TsnormError(`${src.name}: truncated Parquet file: it does not end with the footer and PAR1 (${size} bytes)`, 'TSNORM_PARQUET');
  const footer = new DataView(tail.buffer).getUint32(0, true);
  if (footer > size - 12)
    throw new TsnormError(`${src.name}: corrupt Parquet file: its footer length (${footer}) does not fit the file (${size} bytes)`, 'TSNORM_PARQUET');
  const bytes = new Uint8Array(footer);
  if ((await readFully(src, bytes, 0, footer, size - 8 - footer)) < footer)
    throw new TsnormError(`${src.name}: truncated Parquet file: its footer cannot be read`, 'TSNORM_PARQUET');
  return bytes;
}

/**
 * The input as the Blob parquet-wasm reads byte ranges of (its size, slice, arrayBuffer): reads
 * go through the ByteSource, so a scratch copy or a test's source serves as well as a file.
 */
function blobOf(src: ByteSource, start = 0, end = src.size ?? 0): object {
  return {
    size: end - start,
    slice(from = 0, to = end - start) {
      return blobOf(src, start + Math.max(0, from), start + Math.min(Math.max(0, to), end - start));
    },
    async arrayBuffer(): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(end - start);
      const got = await readFully(src, bytes, 0, bytes.length, start);
      if (got < bytes.length) throw new TsnormError(`${src.name}: truncated Parquet file: bytes ${start + got}..${end} cannot be read`, 'TSNORM_PARQUET');
      return bytes.buffer;
    },
  };
}

function schemaOf(ipc: Uint8Array): A.Schema {
  const reader = A.RecordBatchReader.from(ipc);
  reader.open();
  return reader.schema;
}

/** Runs a parquet-wasm call; what it throws (a string, or an Error from arrow-rs) becomes one line naming the file. */
function parquetCall<T>(name: string, call: () => T): T {
  parquetWasmFor(name, false);
  let out: T;
  try {
    out = call();
  } catch (err) {
    throw parquetError(name, err);
  }
  if (out instanceof Promise) return out.catch((err: unknown) => Promise.reject(parquetError(name, err))) as T;
  return out;
}

function parquetError(name: string, err: unknown): TsnormError {
  if (err instanceof TsnormError) return err;
  const why = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.replace(/^Parquet error: /, '');
  if ((err instanceof Error && err.name === 'RuntimeError') || err instanceof RangeError)
    return new TsnormError(
      `${name}: cannot read this Parquet file: the decoder stopped (${why}); a corrupt file, or a type it does not read`,
      'TSNORM_PARQUET',
    );
  if (/not yet implemented|unsupported|not supported/i.test(why))
    return new TsnormError(`${name}: uses a Parquet feature that cannot be read here: ${why}`, 'TSNORM_PARQUET');
  return new TsnormError(`${name}: corrupt Parquet file: ${why}`, 'TSNORM_PARQUET');
}
