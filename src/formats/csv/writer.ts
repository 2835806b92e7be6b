import type { ByteSink } from '../../io/byte-sink.js';
import type { DataBlock, Schema, SeriesWriter, TextDialect, WriterNeeds } from '../types.js';
import { numberFormatter } from './numbers.js';
import { quotedSpans } from './records.js';
import { RowBytes } from './row-bytes.js';

export interface CsvWriterOptions {
  readonly delimiter: string;
  /** Significant digits; default: the shortest text that reads back as the same float64. */
  readonly precision?: number | undefined;
  /** Write a header row (default true; --no-header turns it off). */
  readonly header?: boolean | undefined;
}

/** Bytes collected before each write to the sink. */
const FLUSH_BYTES = 1 << 20;

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
  private terminator = '\n';
  /** Value cells in the order they appear in a row: the index of each value, and its column. */
  private orderValue = new Int32Array(0);
  private orderColumn = new Int32Array(0);

  constructor(
    private readonly sink: ByteSink,
    private readonly options: CsvWriterOptions,
  ) {
    this.format = numberFormatter(options.precision);
    this.out = new RowBytes(options.precision === undefined ? undefined : this.format);
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
      this.needs = shape.rowsAre === 'series'
        ? { orientation: 'series', wholeInstances: true, passThrough: false }
        : { orientation: 'rows', wholeInstances: false, passThrough: false };
      this.terminator = shape.terminator;
      // Typed arrays, not pairs: a wide row may have millions of value cells.
      const cols = shape.valueColumns;
      this.orderValue = Int32Array.from(cols.keys()).sort((a, b) => cols[a]! - cols[b]!);
      this.orderColumn = this.orderValue.map((k) => cols[k]!);
      if (shape.bom) this.out.text('\uFEFF');
      if (shape.headerRaw !== undefined && header) this.out.byteString(this.redelimit(shape.headerRaw, null) + this.terminator);
    } else {
      let channel = 0;
      let carried = 0;
      this.cells = schema.columns.map((c) => (c.generated ? { kind: 'generated', of: c.generated } : c.role === 'channel' ? { kind: 'channel', index: channel++ } : { kind: 'pass', index: carried++ }));
      if (header) this.out.text(schema.columns.map((c) => quoteIfNeeded(c.name, this.options.delimiter)).join(this.options.delimiter) + '\n');
    }
  }

  async write(blocks: readonly DataBlock[]): Promise<void> {
    for (const b of blocks) {
      if (b.rows && this.shape) await this.rewriteRows(b);
      else this.generateRows(b);
      if (this.out.length >= FLUSH_BYTES) await this.flush();
    }
    // Rows from a live stream go out as soon as they are complete.
    await this.flush();
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.sink.commit();
  }

  async abort(): Promise<void> {
    await this.sink.abort();
  }

  private async flush(): Promise<void> {
    if (this.out.length === 0) return;
    await this.sink.write(this.out.view());
    this.out.clear();
  }

  /** The block's rows with their value cells replaced. */
  private async rewriteRows(b: DataBlock): Promise<void> {
    const p = b.rows;
    if (!p || !this.shape) return;
    const long = this.shape.rowsAre === 'steps';
    const rows = p.count;
    const rowStride = long ? b.stepStride : b.channelStride;
    const cellStride = long ? b.channelStride : b.stepStride;
    const sameDelimiter = this.options.delimiter === this.shape.delimiter;
    const { values, offset } = b;
    const { orderValue, orderColumn } = this;
    const out = this.out;
    const delimiter = this.options.delimiter;
    const terminator = this.terminator;
    for (let i = 0; i < rows; i++) {
      const r = p.first + i;
      const raw = p.raws[r]!;
      const base = r * p.columns * 2;
      const at = offset + i * rowStride;
      if (sameDelimiter) {
        let pos = 0;
        let prev = -2;
        for (let j = 0; j < orderValue.length; j++) {
          const k = orderValue[j]!;
          const col = orderColumn[j]!;
          // Between adjacent value cells there is exactly one delimiter: no need to cut it out.
          if (col === prev + 1) out.byteString(delimiter);
          else out.byteString(raw, pos, p.spans[base + col * 2]!);
          out.number(values[at + k * cellStride]!);
          pos = p.spans[base + col * 2 + 1]!;
          prev = col;
          // A wide row may have millions of cells: its text goes out in pieces, not all at once.
          if ((j & 0xffff) === 0xffff && out.length >= FLUSH_BYTES) await this.flush();
        }
        out.byteString(raw, pos);
      } else {
        const replaced = new Map(Array.from(orderValue, (k, j) => [orderColumn[j]!, this.format(values[at + k * cellStride]!)]));
        out.byteString(this.redelimit(raw, { spans: p.spans, base, columns: p.columns, replaced }));
      }
      out.byteString(terminator);
    }
  }

  /** Long-layout rows made from values (NPY, Arrow): each column of the schema, in order. */
  private generateRows(b: DataBlock): void {
    const d = this.options.delimiter;
    const out = this.out;
    const cells = this.cells;
    for (let t = 0; t < b.stepCount; t++) {
      const at = b.offset + t * b.stepStride;
      for (let j = 0; j < cells.length; j++) {
        if (j > 0) out.byteString(d);
        const cell = cells[j]!;
        if (cell.kind === 'channel') out.number(b.values[at + cell.index * b.channelStride]!);
        else if (cell.kind === 'generated') out.byteString(String(cell.of === 'instance' ? b.instance : b.firstStep + t));
        else out.text(quoteIfNeeded(b.pass?.[cell.index]?.text(t) ?? '', d));
      }
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
