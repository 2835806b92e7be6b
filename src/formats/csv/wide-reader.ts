import type { Block } from '../../core/block.js';
import { TsnormError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import type { SeriesLayout, SeriesReader, StatsUnit } from '../types.js';
import { parseNumber } from './numbers.js';
import type { CsvRowsPayload, CsvShape } from './payload.js';
import { type RecordBatch, cellText } from './records.js';
import { type TextRecords, cellError, startCsv } from './text-records.js';

export interface WideCsvOptions {
  readonly delimiter: string;
  readonly header: boolean;
  readonly keep?: readonly string[] | undefined;
  /** Consecutive rows that form one instance (default 1). */
  readonly numChannels?: number | undefined;
  /** As for the long layout (a series is one row here, so statistics never depend on reads). */
  readonly live?: boolean | undefined;
}

/**
 * The wide layout (like the UCR archive): one row per series, its time steps as columns. Leading
 * non-numeric or --keep columns pass through; --num-channels consecutive rows form one instance.
 */
export class WideCsvReader implements SeriesReader {
  readonly layout: SeriesLayout & { readonly csv: CsvShape };
  private readonly channels: number;
  private readonly steps: number;
  private instance = 0;
  private pending: { raw: string; line: number; spans: Int32Array; values: Float64Array }[] = [];

  private constructor(
    private readonly records: TextRecords,
    private readonly names: readonly string[],
    private readonly valueColumns: readonly number[],
    private firstData: RecordBatch | null,
    headerRaw: string | undefined,
    options: WideCsvOptions,
  ) {
    this.channels = options.numChannels ?? 1;
    this.steps = valueColumns.length;
    this.layout = {
      channels: this.channels,
      steps: this.steps,
      unbatched: false,
      csv: {
        layout: 'wide', valueColumns, columns: names.length, headerRaw, delimiter: options.delimiter,
        terminator: records.splitter.terminator ?? '\n', bom: records.bom,
      },
    };
  }

  get name(): string {
    return this.records.name;
  }

  static async open(source: ByteSource, options: WideCsvOptions): Promise<WideCsvReader> {
    const { records, names, headerRaw, first } = await startCsv(source, options.delimiter, options.header, options.live ?? false);
    const keep = new Set<number>();
    for (const k of options.keep ?? []) {
      const i = names.indexOf(k);
      if (i < 0) throw new TsnormError(`${source.name}: --keep: no column '${k}'; the columns are: ${names.join(', ')}`);
      keep.add(i);
    }
    // Leading columns pass through while they are kept or not numeric in the first rows.
    let lead = 0;
    while (lead < names.length && (keep.has(lead) || (first !== null && !numericInSample(first, lead)))) lead++;
    if (lead === names.length) throw new TsnormError(`${source.name}: no numeric column: the wide layout needs time steps as numeric columns (columns: ${names.join(', ')})`);
    const valueColumns = Array.from({ length: names.length - lead }, (_, i) => lead + i);
    return new WideCsvReader(records, names, valueColumns, first, headerRaw, options);
  }

  locate(block: Block, channel: number, step: number): string {
    const p = block.payload as CsvRowsPayload;
    return `line ${p.lines[p.first + channel - block.firstChannel]}, column '${this.names[this.valueColumns[step]!]}'`;
  }

  close(): Promise<void> {
    return this.records.close();
  }

  /** Whole instances (--num-channels rows each) as they complete. */
  async *blocks(): AsyncIterable<readonly Block[]> {
    let batch = this.firstData;
    this.firstData = null;
    for (; batch; batch = await this.records.next()) {
      const blocks = this.instancesOf(batch);
      if (blocks.length > 0) yield blocks;
    }
    if (this.pending.length > 0) {
      const last = this.pending[this.pending.length - 1]!;
      throw new TsnormError(`${this.name}: line ${last.line}: the input ends within an instance: ${this.pending.length} row(s) of the ${this.channels} that --num-channels ${this.channels} groups into one`);
    }
  }

  async *units(): AsyncIterable<readonly StatsUnit[]> {
    for await (const blocks of this.blocks()) {
      yield blocks.map((b) => ({ instance: b.instance, firstChannel: 0, channelCount: this.channels, steps: this.steps, endsInstance: true, block: b }));
    }
  }

  private instancesOf(batch: RecordBatch): Block[] {
    const L = this.steps;
    const out: Block[] = [];
    for (let r = 0; r < batch.count; r++) {
      const values = new Float64Array(L);
      for (let t = 0; t < L; t++) {
        const col = this.valueColumns[t]!;
        const text = cellText(batch, r, col);
        const x = parseNumber(text);
        if (x === undefined) throw cellError(this.name, batch.lines[r]!, this.names[col]!, `'${text}' is not a number (time steps must be numeric)`);
        values[t] = x;
      }
      const k = r * batch.columns * 2;
      this.pending.push({ raw: batch.raws[r]!, line: batch.lines[r]!, spans: batch.spans.slice(k, k + batch.columns * 2), values });
      if (this.pending.length === this.channels) out.push(this.completeInstance(batch.columns));
    }
    return out;
  }

  private completeInstance(columns: number): Block {
    const rows = this.pending;
    this.pending = [];
    const L = this.steps;
    const values = new Float64Array(rows.length * L);
    const spans = new Int32Array(rows.length * columns * 2);
    rows.forEach((row, c) => {
      values.set(row.values, c * L);
      spans.set(row.spans, c * columns * 2);
    });
    const payload: CsvRowsPayload = { kind: 'csv-rows', raws: rows.map((r) => r.raw), lines: rows.map((r) => r.line), spans, columns, first: 0 };
    return {
      instance: this.instance++, values, offset: 0, channelStride: L, stepStride: 1,
      firstChannel: 0, channelCount: this.channels, firstStep: 0, stepCount: L, payload,
    };
  }
}

function numericInSample(sample: RecordBatch, column: number): boolean {
  for (let r = 0; r < sample.count; r++) {
    const x = parseNumber(cellText(sample, r, column));
    if (x === undefined) return false;
  }
  return sample.count > 0;
}
