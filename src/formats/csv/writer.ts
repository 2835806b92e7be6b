import type { Block } from '../../core/block.js';
import { TsnormError } from '../../errors.js';
import type { ByteSink } from '../../io/byte-sink.js';
import type { SeriesLayout, SeriesWriter } from '../types.js';
import { numberFormatter } from './numbers.js';
import { type CsvShape, isCsvRows } from './payload.js';
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
  /** Numbers as text, for rows rebuilt as strings (another delimiter). */
  private readonly format: (x: number) => string;
  private readonly out: RowBytes;
  private shape: CsvShape | undefined;
  private channels = 0;
  private unbatched = false;
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

  async start(layout: SeriesLayout & { csv?: CsvShape }): Promise<void> {
    this.channels = layout.channels;
    this.unbatched = layout.unbatched;
    const header = this.options.header ?? true;
    const shape = layout.csv;
    if (shape) {
      this.shape = shape;
      this.terminator = shape.terminator;
      // Typed arrays, not pairs: a wide row may have millions of value cells.
      const cols = shape.valueColumns;
      this.orderValue = Int32Array.from(cols.keys()).sort((a, b) => cols[a]! - cols[b]!);
      this.orderColumn = this.orderValue.map((k) => cols[k]!);
      if (shape.bom) this.out.text('\uFEFF');
      if (shape.headerRaw !== undefined && header) this.out.byteString(this.redelimit(shape.headerRaw, null) + this.terminator);
    } else if (header) {
      const names = layout.channelNames ?? Array.from({ length: layout.channels }, (_, c) => `c${c}`);
      this.out.text([...(layout.unbatched ? [] : ['id']), 't', ...names].join(this.options.delimiter) + '\n');
    }
  }

  async write(blocks: readonly Block[]): Promise<void> {
    for (const b of blocks) {
      if (isCsvRows(b.payload) && this.shape) await this.rewriteRows(b);
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
  private async rewriteRows(b: Block): Promise<void> {
    const p = b.payload;
    if (!isCsvRows(p) || !this.shape) return;
    const long = this.shape.layout === 'long';
    const rows = long ? b.stepCount : b.channelCount;
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

  /** Long-layout rows for data without CSV rows of its own (NPY, Arrow): instance, step, channels. */
  private generateRows(b: Block): void {
    if (b.channelCount !== this.channels) {
      throw new TsnormError(`${this.name}: cannot write CSV rows from a piece of one channel: the instance is too large to hold; write NPY instead`);
    }
    const d = this.options.delimiter;
    const out = this.out;
    for (let t = 0; t < b.stepCount; t++) {
      if (!this.unbatched) {
        out.text(String(b.instance));
        out.text(d);
      }
      out.text(String(b.firstStep + t));
      const at = b.offset + t * b.stepStride;
      for (let c = 0; c < b.channelCount; c++) {
        out.text(d);
        out.number(b.values[at + c * b.channelStride]!);
      }
      out.text('\n');
    }
  }

  /**
   * A row rebuilt with the output delimiter: each cell's value (unquoted), quoted again only
   * where the new dialect needs it (a delimiter, quote or line break inside).
   */
  private redelimit(raw: string, cells: { spans: Int32Array; base: number; columns: number; replaced: Map<number, string> } | null): string {
    if (!this.shape || this.options.delimiter === this.shape.delimiter) return raw;
    const out: string[] = [];
    const spans = cells?.spans ?? splitSpans(raw, this.shape.delimiter);
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

/** Spans of the cells of a header row (quote-aware). */
function splitSpans(raw: string, delimiter: string): Int32Array {
  const spans: number[] = [];
  let inQuotes = false;
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '"') inQuotes = !inQuotes;
    else if (ch === delimiter && !inQuotes) { spans.push(start, i); start = i + 1; }
  }
  spans.push(start, raw.length);
  return Int32Array.from(spans);
}
