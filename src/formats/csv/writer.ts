import type { ByteSink } from '../../io/byte-sink.js';
import { isNullValue } from '../../core/missing.js';
import { TsnormError } from '../../errors.js';
import { type DataBlock, type Schema, type SeriesWriter, type TextDialect, type WriterNeeds, channelColumns, channelIndexOf } from '../types.js';
import { latin1, numberFormatter } from './numbers.js';
import { BufferPool } from '../../io/buffer-pool.js';
import { workerScript } from '../../io/worker-script.js';
import type { FormatThreads } from './format-thread.js';
import { quotedSpans } from './records.js';
import { RowBytes } from './row-bytes.js';
import { type RowLayout, type RowsAndValues, rewriteCells, rewriteRows } from './row-rewrite.js';

export interface CsvWriterOptions {
  readonly delimiter: string;
  /** Significant digits; default: the shortest text that reads back as the same float64. */
  readonly precision?: number | undefined;
  /** Write a header row (default true; --no-header turns it off). */
  readonly header?: boolean | undefined;
  /** Threads to use: with N of 2 or more, rows read from CSV are formatted by N - 1 workers (see format-worker.ts). */
  readonly threads?: number | undefined;
  /** Output bytes formatted here before the worker takes over (default OFF_THREAD_AFTER). */
  readonly offThreadAfter?: number | undefined;
  /** Channels keep the input's type (convert): an integer one is written as the integer, all its digits. */
  readonly keepTypes?: boolean | undefined;
}

/** Bytes collected before each write to the sink. */
const FLUSH_BYTES = 1 << 20;
/**
 * Output formatted here before a worker takes over: a small job ends before a worker would have
 * started, so only outputs larger than this pay for one.
 */
const OFF_THREAD_AFTER = 4 << 20;
/**
 * Jobs (a read's rows each, ~64 KB) sent to the worker and not yet written: bounds the memory that
 * waits on it. An instance's rows come all at once when its statistics are known: with room for
 * fewer than one instance's (a long instance spans dozens of reads) this thread waited while the
 * worker caught up, then the worker idled (npm run bench measures it).
 */
const MAX_IN_FLIGHT = 64;
/** Bytes of the worker's output gathered for one write. */
const STAGE_BYTES = 1 << 20;
/** Value cells of a wide row formatted between checks of the buffer's size. */
const WIDE_PIECE = 65536;

/** Channel types written as integers, every digit, when channels keep their type (see integerChannels). */
const INTEGER_TYPES: ReadonlySet<string> = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']);

/**
 * Writes CSV/TSV rows. Rows that came from a CSV reader are written back with their value cells
 * replaced and every other byte as it was (same header, columns, quoting, line endings); data
 * from other formats is written in the long layout `id,t,c0,...` (instance, step, channels).
 */
export class CsvWriter implements SeriesWriter {
  readonly valueType = 'float64' as const;
  needs: WriterNeeds = { orientation: 'rows', wholeInstances: false, passThrough: true };
  /** Numbers as text, for rows rebuilt as strings (another delimiter). */
  private readonly format: (x: number) => string;
  private readonly out: RowBytes;
  /** The input's dialect, when rows come with their text (CSV input): they are rewritten, not made. */
  private shape: TextDialect | undefined;
  /** For rows made from values: each column of the schema, in order, and where its cells come from. */
  private cells: ({ kind: 'channel' | 'pass'; index: number } | { kind: 'generated'; of: 'instance' | 'step' })[] = [];
  /** Per channel: whether it holds integers (keepTypes), written as such beyond 2^53 (not as 1.2e+18's digits). */
  private integerChannels: boolean[] = [];
  /** Names of the pass-through columns, for messages. */
  private passNames: string[] = [];
  private describe: ((instance: number) => string) | undefined;
  private terminator = '\n';
  /** Value cells in the order they appear in a row: the index of each value, and its column. */
  private orderValue = new Int32Array(0);
  private orderColumn = new Int32Array(0);
  /** The formatting worker: undefined until decided, null when rows are formatted here. */
  private thread: FormatThreads | null | undefined;
  private formattedHere = 0;
  private rowLayout: RowLayout | undefined;
  /** Writes to the sink, in output order: bytes from the worker go out as they come back. */
  private queue: Promise<void> = Promise.resolve();
  private inFlight: Promise<void>[] = [];
  private readonly pool = new BufferPool();
  private stageBuffer = new Uint8Array(0);
  private staged = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly options: CsvWriterOptions,
  ) {
    // Values kept as they were (convert): a NaN of the data's own is written NaN, a missing value
    // an empty cell, so that each reads back as what it was.
    const nanText = options.keepTypes === true ? 'NaN' : undefined;
    const shortest = numberFormatter(options.precision);
    this.format = nanText === undefined ? shortest : (x) => (x !== x && !isNullValue(x) ? nanText : shortest(x));
    this.out = new RowBytes(options.precision === undefined ? undefined : this.format, nanText);
  }

  get name(): string {
    return this.sink.name;
  }

  async start(schema: Schema): Promise<void> {
    const header = this.options.header ?? true;
    const shape = schema.textDialect;
    if (shape) {
      this.shape = shape;
      // Wide rows are series: they come whole, an instance at a time, with their text.
      this.needs =
        shape.rowsAre === 'series'
          ? { orientation: 'series', wholeInstances: true, passThrough: false, doneOnWrite: true }
          : { orientation: 'rows', wholeInstances: false, passThrough: false, doneOnWrite: true };
      this.terminator = shape.terminator;
      // Typed arrays, not pairs: a wide row may have millions of value cells.
      const cols = shape.valueColumns;
      this.orderValue = Int32Array.from(cols.keys()).sort((a, b) => cols[a]! - cols[b]!);
      this.orderColumn = this.orderValue.map((k) => cols[k]!);
      if (shape.bom) this.out.text('\uFEFF');
      if (shape.headerRaw !== undefined && header) this.out.byteString(this.redelimit(shape.headerRaw, null) + this.terminator);
    } else {
      let carried = 0;
      this.describe = schema.describeInstance?.bind(schema);
      const channelIndex = channelIndexOf(schema);
      this.integerChannels = channelColumns(schema).map((c) => this.options.keepTypes === true && INTEGER_TYPES.has(c.type));
      this.passNames = schema.columns.filter((c) => c.role !== 'channel' && !c.generated).map((c) => c.name);
      this.cells = schema.columns.map((c) =>
        c.generated
          ? { kind: 'generated', of: c.generated }
          : c.role === 'channel'
            ? { kind: 'channel', index: channelIndex.get(c)! }
            : { kind: 'pass', index: carried++ },
      );
      const nul = schema.columns.find((c) => c.name.includes('\0'));
      if (header && nul)
        throw new TsnormError(
          `${this.name}: column name '${nul.name}' holds a NUL character, which CSV text cannot carry (readers take it for binary data): write Arrow instead`,
          'TSNORM_OUTPUT',
        );
      if (header) this.out.text(schema.columns.map((c) => quoteIfNeeded(c.name, this.options.delimiter)).join(this.options.delimiter) + '\n');
    }
  }

  async write(blocks: readonly DataBlock[]): Promise<void> {
    for (const b of blocks) {
      if (b.rows && this.shape) {
        const thread = await this.formatThread();
        if (thread) await this.sendRows(thread, b);
        else await this.rewriteRows(b);
      } else {
        this.generateRows(b);
      }
      if (this.out.length >= FLUSH_BYTES) await this.flush();
    }
    // Rows from a live stream go out as soon as they are complete (the worker's as they come back).
    await this.flush();
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.queue;
    await this.writeStage();
    this.thread?.close();
    await this.sink.commit();
  }

  async abort(): Promise<void> {
    await this.queue.catch(() => undefined);
    this.thread?.close();
    await this.sink.abort();
  }

  /**
   * The worker's output, gathered into writes of STAGE_BYTES: a write costs the system about as
   * much for 100 KB as for 1 MB.
   */
  private async stage(bytes: Uint8Array): Promise<void> {
    if (this.staged + bytes.length > this.stageBuffer.length) await this.writeStage();
    if (bytes.length > this.stageBuffer.length) {
      await this.sink.write(bytes);
      return;
    }
    this.stageBuffer.set(bytes, this.staged);
    this.staged += bytes.length;
  }

  private async writeStage(): Promise<void> {
    if (this.staged === 0) return;
    await this.sink.write(this.stageBuffer.subarray(0, this.staged));
    this.staged = 0;
  }

  private async flush(): Promise<void> {
    if (this.out.length === 0) return;
    // After what the worker still has: output keeps the rows' order.
    await this.queue;
    await this.writeStage();
    this.formattedHere += this.out.length;
    await this.sink.write(this.out.view());
    this.out.clear();
  }

  /** The worker, once this output has grown past OFF_THREAD_AFTER, when threads allow and rows can be rewritten there. */
  private async formatThread(): Promise<FormatThreads | null> {
    if (this.thread !== undefined) return this.thread;
    const shape = this.shape!;
    // The worker writes a NaN as a missing value: values kept as they were (keepTypes) stay here.
    if ((this.options.threads ?? 1) < 2 || shape.rowsAre !== 'steps' || this.options.delimiter !== shape.delimiter || this.options.keepTypes === true) {
      this.thread = null;
      return null;
    }
    if (this.formattedHere + this.out.length < (this.options.offThreadAfter ?? OFF_THREAD_AFTER)) return null;
    const script = workerScript('csv-format-worker.cjs');
    // Loaded with the first worker: node:worker_threads is no part of a small job's start-up.
    this.thread = script
      ? new (await import('./format-thread.js')).FormatThreads(
          script,
          (this.rowLayout ??= this.layout()),
          this.options.precision,
          Math.max(1, (this.options.threads ?? 1) - 1),
        )
      : null;
    if (this.thread) this.stageBuffer = new Uint8Array(STAGE_BYTES);
    return this.thread;
  }

  private layout(): RowLayout {
    return {
      orderValue: this.orderValue,
      orderColumn: this.orderColumn,
      delimiter: this.options.delimiter.charCodeAt(0),
      terminator: Buffer.from(this.terminator, 'latin1'),
    };
  }

  /**
   * The block's rows to the worker: their bytes, record and cell offsets (as in the text they came
   * from), and their new values packed row by row, in buffers from the pool; the bytes it sends
   * back are written in turn, and every buffer returns to the pool.
   */
  private async sendRows(thread: FormatThreads, b: DataBlock): Promise<void> {
    await this.flush();
    const p = b.rows!;
    const { first, count, columns } = p;
    if (count === 0) return;
    const C = this.orderValue.length;
    const pool = this.pool;
    const base = p.records[2 * first]!;
    const size = p.records[2 * (first + count) - 1]! - base;
    const bytes = new Uint8Array(pool.take(size), 0, size);
    bytes.set(p.bytes.subarray(base, base + size));
    // Offsets stay as they are (`origin` says where the bytes begin): copies, not loops.
    const records = new Int32Array(pool.take(count * 8), 0, count * 2);
    records.set(p.records.subarray(2 * first, 2 * (first + count)));
    const spans = new Int32Array(pool.take(count * columns * 8), 0, count * columns * 2);
    spans.set(p.spans.subarray(first * columns * 2, (first + count) * columns * 2));
    const values = new Float64Array(pool.take(count * C * 8), 0, count * C);
    if (b.channelStride === 1 && b.stepStride === C) {
      values.set(b.values.subarray(b.offset, b.offset + count * C));
    } else {
      for (let i = 0, at = b.offset; i < count; i++, at += b.stepStride) {
        for (let k = 0; k < C; k++) values[i * C + k] = b.values[at + k * b.channelStride]!;
      }
    }
    // Room for the rows as long again as they are (numbers may get longer): else the worker grows it.
    const result = thread.format({ bytes, origin: base, records, spans, values, columns, count, cells: C, out: pool.take(size * 2) });
    result.catch(() => undefined); // seen through the queue
    const written = this.queue.then(async () => {
      const r = await result;
      for (const buffer of r.buffers) pool.put(buffer);
      await this.stage(new Uint8Array(r.out, 0, r.length));
      pool.put(r.out);
      // Nothing more on its way: out now (rows from a live stream go out as they complete).
      if (thread.pending === 0) await this.writeStage();
    });
    written.catch(() => undefined); // seen by the next write, finish or abort
    this.queue = written;
    this.inFlight.push(written);
    while (this.inFlight.length > MAX_IN_FLIGHT) await this.inFlight.shift();
  }

  /** The block's rows with their value cells replaced. */
  private async rewriteRows(b: DataBlock): Promise<void> {
    const p = b.rows;
    if (!p || !this.shape) return;
    const long = this.shape.rowsAre === 'steps';
    const rows: RowsAndValues = {
      bytes: p.bytes,
      records: p.records,
      spans: p.spans,
      columns: p.columns,
      first: p.first,
      count: p.count,
      values: b.values,
      offset: b.offset,
      rowStride: long ? b.stepStride : b.channelStride,
      cellStride: long ? b.channelStride : b.stepStride,
    };
    const out = this.out;
    if (this.options.delimiter !== this.shape.delimiter) {
      for (let i = 0; i < p.count; i++) this.redelimitRow(rows, i);
      return;
    }
    const layout = (this.rowLayout ??= this.layout());
    if (long) {
      rewriteRows(out, rows, layout);
      return;
    }
    // A wide row may have millions of cells: its text goes out in pieces, not all at once.
    const cells = this.orderValue.length;
    for (let i = 0; i < p.count; i++) {
      let pos = p.records[2 * (p.first + i)]!;
      for (let j = 0; j < cells; j += WIDE_PIECE) {
        pos = rewriteCells(out, rows, layout, i, j, Math.min(cells, j + WIDE_PIECE), pos);
        if (out.length >= FLUSH_BYTES) await this.flush();
      }
      out.copy(p.bytes, pos, p.records[2 * (p.first + i) + 1]!);
      out.copy(layout.terminator, 0, layout.terminator.length);
    }
  }

  /** Row i rebuilt with another delimiter (rare: a CSV written as TSV or back). */
  private redelimitRow(rows: RowsAndValues, i: number): void {
    const r = rows.first + i;
    const from = rows.records[2 * r]!;
    const base = r * rows.columns * 2;
    const at = rows.offset + i * rows.rowStride;
    const replaced = new Map(Array.from(this.orderValue, (k, j) => [this.orderColumn[j]!, this.format(rows.values[at + k * rows.cellStride]!)]));
    const spans = rows.spans.subarray(base, base + rows.columns * 2).map((x) => x - from);
    this.out.byteString(this.redelimit(latin1(rows.bytes, from, rows.records[2 * r + 1]!), { spans, base: 0, columns: rows.columns, replaced }));
    this.out.byteString(this.terminator);
  }

  /**
   * Pass-through cell k of row t as CSV text: quoted where it must be, and an empty value that is
   * not missing (an empty string) as "", so that it reads back as one, not as a missing value. A
   * NUL is refused: CSV readers (this one too) take it for binary data.
   */
  private passText(b: DataBlock, k: number, t: number): string {
    const column = b.pass?.[k];
    const text = column?.text(t) ?? '';
    if (text === '') return column !== undefined && column.value(t) !== null ? '""' : '';
    if (text.includes('\0')) {
      throw new TsnormError(
        `${this.name}: column '${this.passNames[k]}', ${this.describe?.(b.instance) ?? `instance ${b.instance}`}, step ${b.firstStep + t}: a NUL character, which CSV text cannot carry (readers take it for binary data): write Arrow instead`,
        'TSNORM_OUTPUT',
      );
    }
    return quoteIfNeeded(text, this.options.delimiter);
  }

  /** Long-layout rows made from values (NPY, Arrow): each column of the schema, in order. */
  private generateRows(b: DataBlock): void {
    const d = this.options.delimiter;
    const out = this.out;
    const cells = this.cells;
    for (let t = 0; t < b.stepCount; t++) {
      const at = b.offset + t * b.stepStride;
      const start = out.length;
      for (let j = 0; j < cells.length; j++) {
        if (j > 0) out.byteString(d);
        const cell = cells[j]!;
        if (cell.kind === 'channel') {
          const x = b.values[at + cell.index * b.channelStride]!;
          // The shortest text of 2^60 as a double is 1152921504606847000; as an int64 it is every digit.
          if (this.integerChannels[cell.index] && !(Math.abs(x) < 2 ** 53) && x === x) out.byteString(BigInt(x).toString());
          else out.number(x);
        } else if (cell.kind === 'generated') out.byteString(String(cell.of === 'instance' ? b.instance : b.firstStep + t));
        else out.text(this.passText(b, cell.index, t));
      }
      // A row of one missing value would be an empty line, which pyarrow, pandas and tsnorm skip:
      // "" keeps the row, and they read it as missing.
      if (out.length === start) out.byteString('""');
      out.byteString('\n');
    }
  }

  /**
   * A row rebuilt with the output delimiter: each cell's value (unquoted), quoted again only
   * where the new dialect needs it (a delimiter, quote or line break inside).
   */
  private redelimit(raw: string, cells: { spans: Int32Array; base: number; columns: number; replaced: Map<number, string> } | null): string {
    if (!this.shape || this.options.delimiter === this.shape.delimiter) return raw;
    const out: string[] = [];
    const spans = cells?.spans ?? quotedSpans(raw, this.shape.delimiter);
    const base = cells?.base ?? 0;
    const columns = cells?.columns ?? spans.length / 2;
    for (let i = 0; i < columns; i++) {
      const v = cells?.replaced.get(i) ?? unquote(raw.slice(spans[base + i * 2]!, spans[base + i * 2 + 1]!));
      out.push(quoteIfNeeded(v, this.options.delimiter));
    }
    return out.join(this.options.delimiter);
  }
}

/** The value of a raw cell: without its enclosing quotes, doubled quotes made single. */
function unquote(cell: string): string {
  if (cell.length >= 2 && cell.startsWith('"') && cell.endsWith('"')) return cell.slice(1, -1).replace(/""/g, '"');
  return cell;
}

/** A value as a cell: quoted (RFC 4180) when it holds the delimiter, a quote or a line break. */
function quoteIfNeeded(value: string, delimiter: string): string {
  return value.includes(delimiter) || /["\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
