import type * as A from 'apache-arrow';
import { TsnormError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { checkBatch } from './validate.js';
import type { NumberedBatch } from './small-batches.js';

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

// What the long and the list readers share: record batches read in order (counted, checked), the
// columns found by name, Arrow's errors as one line.

/** Record batches from a file or a stream, and their schema. */
export interface BatchSource {
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
    return new TsnormError(
      `${name}: corrupt Arrow data: a column's type id${type[2] === undefined ? '' : ` ${type[2]}`} is no Arrow type (a damaged schema, or a writer newer than this reader)`,
      'TSNORM_ARROW',
    );
  }
  if (type)
    return new TsnormError(
      `${name}: uses an Arrow type that cannot be read here: ${type[1]} (write it with plain lists and strings: polars compat_level=oldest, or pyarrow)`,
      'TSNORM_ARROW',
    );
  if (/Expected to read \d+ .*but only read/.test(why)) return new TsnormError(`${name}: truncated Arrow data: ${why}`, 'TSNORM_ARROW');
  if (isFile && err instanceof TypeError) return new TsnormError(`${name}: corrupt Arrow file: its footer cannot be read (${why})`, 'TSNORM_ARROW');
  return new TsnormError(`${name}: not valid Arrow IPC data (truncated or corrupt?): ${why}`, 'TSNORM_ARROW');
}

/** Columns by name, refusing a name given to a flag that is missing or shared. */
export function fieldIndex(schema: A.Schema, name: string, flag: string, file: string): number {
  const found = schema.fields.flatMap((f, i) => (f.name === name ? [i] : []));
  if (found.length === 0)
    throw new TsnormError(`${file}: ${flag}: no column '${name}'; the columns are: ${schema.fields.map((f) => f.name).join(', ')}`, 'TSNORM_ARROW');
  if (found.length > 1) throw new TsnormError(`${file}: ${flag}: more than one column is named '${name}'`, 'TSNORM_ARROW');
  return found[0]!;
}

/** Reads record batches, refusing a schema that changes. */
export abstract class ArrowReaderBase {
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
    try {
      await this.arrow.close();
    } catch {
      /* closing anyway */
    }
    await this.src.close();
  }
}

/** A field's or schema's metadata, as a ColumnSpec or Schema holds it (nothing when empty). */
export function metadataOf(x: { metadata: Map<string, string> }): { metadata?: ReadonlyMap<string, string> } {
  return x.metadata.size > 0 ? { metadata: new Map(x.metadata) } : {};
}
