import type { Block } from '../../core/block.js';
import { TsnormError } from '../../errors.js';
import type { ByteSink } from '../../io/byte-sink.js';
import type { SeriesLayout, SeriesWriter } from '../types.js';
import { numberFormatter } from './numbers.js';
import { type CsvShape, isCsvRows } from './payload.js';

export interface CsvWriterOptions {
  readonly delimiter: string;
  /** Significant digits; default: the shortest text that reads back as the same float64. */
  readonly precision?: number | undefined;
  /** Write a header row (default true; --no-header turns it off). */
  readonly header?: boolean | undefined;
}

/** Text collected before each write to the sink. */
const FLUSH_CHARS = 1 << 20;

/**
 * Writes CSV/TSV rows. Rows that came from a CSV reader are written back with their value cells
 * replaced and every other byte as it was (same header, columns, quoting, line endings); data
 * from other formats is written in the long layout `id,t,c0,...` (instance, step, channels).
 */
export class CsvWriter implements SeriesWriter {
  readonly valueType = 'float64' as const;
  private readonly format: (x: number) => string;
  private shape: CsvShape | undefined;
  private channels = 0;
  private unbatched = false;
  private terminator = '\n';
  /** Value cells in the order they appear in a row: [index of the value, column]. */
  private cellOrder: [number, number][] = [];
  private text: string[] = [];
  private chars = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly options: CsvWriterOptions,
  ) {
    this.format = numberFormatter(options.precision);
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
      this.cellOrder = shape.valueColumns.map((col, k): [number, number] => [k, col]).sort((a, b) => a[1] - b[1]);
      if (shape.bom) this.push('\uFEFF');
      if (shape.headerRaw !== undefined && header) this.push(this.redelimit(shape.headerRaw, null) + this.terminator);
    } else if (header) {
      const names = layout.channelNames ?? Array.from({ length: layout.channels }, (_, c) => `c${c}`);
      this.push([...(layout.unbatched ? [] : ['id']), 't', ...names].join(this.options.delimiter) + '\n');
    }
  }

  async write(blocks: readonly Block[]): Promise<void> {
    for (const b of blocks) {
      if (isCsvRows(b.payload) && this.shape) this.rewriteRows(b);
      else this.generateRows(b);
      if (this.chars >= FLUSH_CHARS) await this.flush();
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

  private push(s: string): void {
    this.text.push(s);
    this.chars += s.length;
  }

  private async flush(): Promise<void> {
    if (this.text.length === 0) return;
    const data = Buffer.from(this.text.join(''), 'utf8');
    this.text = [];
    this.chars = 0;
    await this.sink.write(data);
  }

  /** The block's rows with their value cells replaced. */
  private rewriteRows(b: Block): void {
    const p = b.payload;
    if (!isCsvRows(p) || !this.shape) return;
    const long = this.shape.layout === 'long';
    const rows = long ? b.stepCount : b.channelCount;
    const rowStride = long ? b.stepStride : b.channelStride;
    const cellStride = long ? b.channelStride : b.stepStride;
    const sameDelimiter = this.options.delimiter === this.shape.delimiter;
    const { values, offset } = b;
    const fmt = this.format;
    const order = this.cellOrder;
    const delimiter = this.options.delimiter;
    const lines: string[] = [];
    for (let i = 0; i < rows; i++) {
      const r = p.first + i;
      const raw = p.raws[r]!;
      const base = r * p.columns * 2;
      const at = offset + i * rowStride;
      if (sameDelimiter) {
        let line = '';
        let pos = 0;
        let prev = -2;
        for (const [k, col] of order) {
          // Between adjacent value cells there is exactly one delimiter: no need to cut it out.
          line += (col === prev + 1 ? delimiter : raw.slice(pos, p.spans[base + col * 2]!)) + fmt(values[at + k * cellStride]!);
          pos = p.spans[base + col * 2 + 1]!;
          prev = col;
        }
        lines.push(line + raw.slice(pos));
      } else {
        const replaced = new Map(order.map(([k, col]) => [col, fmt(values[at + k * cellStride]!)]));
        lines.push(this.redelimit(raw, { spans: p.spans, base, columns: p.columns, replaced }));
      }
    }
    this.push(lines.join(this.terminator) + this.terminator);
  }

  /** Long-layout rows for data without CSV rows of its own (NPY, Arrow): instance, step, channels. */
  private generateRows(b: Block): void {
    if (b.channelCount !== this.channels) {
      throw new TsnormError(`${this.name}: cannot write CSV rows from a piece of one channel: the instance is too large to hold; write NPY instead`);
    }
    const d = this.options.delimiter;
    const fmt = this.format;
    const lines: string[] = [];
    for (let t = 0; t < b.stepCount; t++) {
      let line = this.unbatched ? String(b.firstStep + t) : `${b.instance}${d}${b.firstStep + t}`;
      const at = b.offset + t * b.stepStride;
      for (let c = 0; c < b.channelCount; c++) line += d + fmt(b.values[at + c * b.channelStride]!);
      lines.push(line);
    }
    this.push(lines.join('\n') + '\n');
  }

  /** A row rebuilt with the output delimiter; cells that would then be ambiguous are quoted. */
  private redelimit(raw: string, cells: { spans: Int32Array; base: number; columns: number; replaced: Map<number, string> } | null): string {
    if (!this.shape || this.options.delimiter === this.shape.delimiter) return raw;
    const out: string[] = [];
    const spans = cells?.spans ?? splitSpans(raw, this.shape.delimiter);
    const base = cells?.base ?? 0;
    const columns = cells?.columns ?? spans.length / 2;
    for (let i = 0; i < columns; i++) {
      const v = cells?.replaced.get(i) ?? raw.slice(spans[base + i * 2]!, spans[base + i * 2 + 1]!);
      out.push(v.includes(this.options.delimiter) && !v.startsWith('"') ? `"${v.replace(/"/g, '""')}"` : v);
    }
    return out.join(this.options.delimiter);
  }
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
