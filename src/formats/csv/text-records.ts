import { TsnormError } from '../../errors.js';
import { BufferPool } from '../../io/buffer-pool.js';
import { type ByteSource, readFully } from '../../io/byte-source.js';
import { shownText } from './byte-text.js';
import { ColumnNames } from './columns.js';
import { type RecordBatch, RecordSplitter, cellText, recordText } from './records.js';

/**
 * Bytes asked for per read. Small batches die young in V8's heap, large ones live long enough
 * to be copied and promoted (npm run bench: faster and smaller at 64 KB than at 1 MB). From a
 * pipe a read returns what has arrived, so live rows pass at once either way.
 */
const READ_BYTES = 64 << 10;

/**
 * Batches of records from a byte source. Text is kept as bytes (as byte strings where a string
 * is needed: one character a byte), so UTF-8, Latin-1 or any other ASCII-compatible encoding
 * passes through byte for byte, and numbers, delimiters and quotes are found all the same. Names
 * and values shown to people are decoded as UTF-8 where they are valid UTF-8 (see byte-text.ts).
 * A UTF-8 BOM is noted and dropped. A read returns what has arrived, so from a pipe each batch
 * holds the complete rows available now.
 */
export class TextRecords {
  readonly splitter: RecordSplitter;
  /** Buffers of batches: readers give them back when their rows are written (see Lease). */
  readonly pool = new BufferPool();
  bom = false;
  /**
   * Wait for whole reads (READ_BYTES) instead of taking what has arrived: then the batches, and
   * so the order in which statistics are merged, do not depend on how a pipe delivered the data.
   */
  private readonly fillReads: boolean;
  /** Two buffers: the next read fills one while the rows of the other are being split and used. */
  private buf = new Uint8Array(READ_BYTES);
  private spare = new Uint8Array(READ_BYTES);
  private ahead: Promise<number> | null = null;
  private position = 0;
  private ended = false;

  /** The whole input has been read (the rows handed out so far are all there is). */
  get exhausted(): boolean {
    return this.ended;
  }
  private first = true;

  constructor(
    private readonly source: ByteSource,
    delimiter: string,
    fillReads = false,
  ) {
    this.splitter = new RecordSplitter(source.name, delimiter);
    this.splitter.pool = this.pool;
    this.fillReads = fillReads;
  }

  get name(): string {
    return this.source.name;
  }

  async close(): Promise<void> {
    // A read in flight on a file still uses its descriptor: let it end first (it ends at once;
    // its outcome no longer matters). On a pipe it may wait for data that never comes: close now.
    if (this.source.seekable) await this.ahead?.catch(() => 0);
    this.ahead = null;
    await this.source.close();
  }

  private readInto(buf: Uint8Array): Promise<number> {
    if (this.fillReads) return readFully(this.source, buf, 0, buf.length, this.position);
    // Live: what has arrived, but the first read at least 3 bytes (or to the end), so that a
    // UTF-8 BOM arriving in pieces is still seen whole.
    if (this.startedReading) return this.source.read(buf, 0, buf.length, this.position);
    this.startedReading = true;
    return readFully(this.source, buf, 0, 3, 0).then(async (n) => (n < 3 ? n : n + (await this.source.read(buf, n, buf.length - n, n))));
  }

  private startedReading = false;

  /** The next batch with at least one record, or null at the end. */
  async next(): Promise<RecordBatch | null> {
    while (!this.ended) {
      const n = await (this.ahead ?? this.readInto(this.buf));
      this.ahead = null;
      this.position += n;
      if (n > 0) {
        // Read ahead into the spare buffer while this one is decoded and its rows are used. A
        // failure surfaces when the next batch is asked for; if none is, it is ignored.
        [this.buf, this.spare] = [this.spare, this.buf];
        this.ahead = this.readInto(this.buf);
        this.ahead.catch(() => undefined);
      }
      let bytes = EMPTY;
      // The end is known without a read returning 0 when a filling read came up short, or when
      // a file's size has been read: then a last line without a line break is complete, and it
      // comes with the rows before it (so that the first rows, which decide the columns, and the
      // blocks do not depend on whether a file ends with a line break).
      const size = this.source.size;
      if (n > 0 && ((this.fillReads && n < this.buf.length) || (size !== undefined && this.position >= size))) this.ended = true;
      if (n === 0) {
        this.ended = true;
      } else {
        bytes = this.spare.subarray(0, n);
        if (this.first) {
          refuseNonText(this.name, bytes);
          if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
            this.bom = true;
            bytes = bytes.subarray(3);
          }
        }
        const nul = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).indexOf(0);
        if (nul >= 0) throw binaryError(this.name, this.position - n + (n - bytes.length) + nul);
      }
      this.first = false;
      const batch = this.split(bytes);
      if (batch.count > 0) return batch;
    }
    return null;
  }

  private split(bytes: Uint8Array): RecordBatch {
    try {
      return this.ended ? this.finish(bytes) : this.splitter.push(bytes);
    } catch (err) {
      // V8 strings hold at most ~2^29 characters: a quoted record near the limit cannot be parsed as text.
      if (err instanceof RangeError) throw this.splitter.tooLong();
      throw err;
    }
  }

  private finish(chunk: Uint8Array): RecordBatch {
    const a = this.splitter.push(chunk);
    const b = this.splitter.finish();
    if (a.count === 0) return b;
    if (b.count === 0) return a;
    // Rare: the last line had no terminator; join the two batches (b's offsets move past a's bytes).
    const bytes = new Uint8Array(a.bytes.length + b.bytes.length);
    bytes.set(a.bytes);
    bytes.set(b.bytes, a.bytes.length);
    const shift = a.bytes.length;
    const spans = new Int32Array((a.count + b.count) * a.columns * 2);
    spans.set(a.spans.subarray(0, a.count * a.columns * 2));
    spans.set(
      b.spans.subarray(0, b.count * b.columns * 2).map((x) => x + shift),
      a.count * a.columns * 2,
    );
    const records = new Int32Array((a.count + b.count) * 2);
    records.set(a.records.subarray(0, a.count * 2));
    records.set(
      b.records.subarray(0, b.count * 2).map((x) => x + shift),
      a.count * 2,
    );
    const lines = new Int32Array(a.count + b.count);
    lines.set(a.lines.subarray(0, a.count));
    lines.set(b.lines.subarray(0, b.count), a.count);
    return {
      count: a.count + b.count,
      bytes,
      records,
      lines,
      spans,
      unquoted: Array.from({ length: a.count + b.count }, (_, r) => (r < a.count ? a.unquoted[r] : b.unquoted[r - a.count])),
      columns: a.columns,
      buffers: [],
    };
  }
}

/** An error for a value in a CSV cell. */
export function cellError(name: string, line: number, column: string, what: string): TsnormError {
  return new TsnormError(`${name}: line ${line}, column '${column}': ${what}`, 'TSNORM_CSV');
}

const EMPTY = new Uint8Array(0);

function binaryError(name: string, offset: number): TsnormError {
  return new TsnormError(
    `${name}: byte ${offset}: a NUL byte: this is binary data, not CSV/TSV text (give the format with --from if it is NPY or Arrow)`,
    'TSNORM_CSV',
  );
}

/** Inputs that are recognisably not CSV text: say what they are instead of parsing them. */
function refuseNonText(name: string, head: Uint8Array): void {
  const starts = (...b: number[]) => b.every((x, i) => head[i] === x);
  if (starts(0xff, 0xfe) || starts(0xfe, 0xff)) {
    throw new TsnormError(
      `${name}: UTF-16 text: tsnorm reads CSV/TSV in UTF-8 or another ASCII-compatible encoding (convert it first: iconv -f UTF-16 -t UTF-8)`,
      'TSNORM_CSV',
    );
  }
  if (starts(0x50, 0x41, 0x52, 0x31)) throw new TsnormError(`${name}: a Parquet file, read as CSV: name it .parquet or give --from parquet`, 'TSNORM_CSV');
  if (starts(0x50, 0x4b, 0x03, 0x04))
    throw new TsnormError(`${name}: a zip archive (an .npz?): not supported; extract the .npy or .csv inside it first`, 'TSNORM_CSV');
}

/** The rows after the first `k` of a batch. */
export function dropRecords(b: RecordBatch, k: number): RecordBatch {
  return {
    count: b.count - k,
    bytes: b.bytes,
    records: b.records.subarray(k * 2),
    lines: b.lines.subarray(k),
    spans: b.spans.subarray(k * b.columns * 2),
    unquoted: b.unquoted.slice(k),
    columns: b.columns,
    scanner: b.scanner,
    buffers: b.buffers,
  };
}

/**
 * An opened CSV input: its column names (as text, for matching flags and for messages), its
 * header (as bytes, to write back), and the first rows of data (for sniffing).
 */
export interface CsvStart {
  readonly records: TextRecords;
  readonly names: ColumnNames;
  readonly headerRaw: string | undefined;
  readonly first: RecordBatch | null;
}

/**
 * Reads the header (or names the columns 1, 2, ... without one) and the first batch of rows.
 * `live`: rows are used as they arrive (no statistics), so reads take what has arrived.
 */
export async function startCsv(source: ByteSource, delimiter: string, header: boolean, live: boolean): Promise<CsvStart> {
  const records = new TextRecords(source, delimiter, !live);
  if (!header) records.splitter.firstRecord = 'first row';
  const batch = await records.next();
  if (!batch) throw new TsnormError(`${source.name}: empty input: expected ${header ? 'a header row' : 'rows of numbers'}`, 'TSNORM_CSV');
  // Lines ended by a lone CR (old Mac files) are one line here: say so rather than fail later.
  if (batch.unquoted[0] === undefined && batch.bytes.subarray(batch.records[0], batch.records[1]).includes(13)) {
    throw new TsnormError(
      `${source.name}: line 1 holds a carriage return (CR) not followed by a line feed: lines must end with LF or CRLF (convert with: tr '\\r' '\\n')`,
      'TSNORM_CSV',
    );
  }
  if (!header) return { records, names: ColumnNames.positional(batch.columns), headerRaw: undefined, first: batch };
  const names = ColumnNames.fromHeader(Array.from({ length: batch.columns }, (_, i) => shownText(cellText(batch, 0, i))));
  const first = batch.count > 1 ? dropRecords(batch, 1) : await records.next();
  if (!first) throw new TsnormError(`${source.name}: a header and no rows: nothing to read (the columns are ${names.listed()})`, 'TSNORM_CSV');
  return { records, names, headerRaw: recordText(batch, 0), first };
}
