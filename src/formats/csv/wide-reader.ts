import { TsnormError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import type { ColumnSpec, DataBlock, Location, RowText, Schema, SeriesReader } from '../types.js';
import { cellForMessage } from './byte-text.js';
import type { ColumnNames } from './columns.js';
import { roundedIntegerMessage } from '../number-text.js';
import { parseNumber, roundedInteger } from './numbers.js';
import { type RecordBatch, cellNumber, cellText } from './records.js';
import { type TextRecords, cellError, startCsv } from './text-records.js';

export interface WideTableOptions {
  readonly delimiter: string;
  readonly header: boolean;
  readonly keep?: readonly string[] | undefined;
  /** Consecutive rows that form one instance (default 1). */
  readonly numChannels?: number | undefined;
  /** As for the long layout (a series is one row here, so statistics never depend on reads). */
  readonly live?: boolean | undefined;
  /** As for the long layout. */
  readonly exact?: boolean | undefined;
}

/**
 * The wide layout (like the UCR archive): one row per series, its time steps as columns. Leading
 * non-numeric or --keep columns pass through; --num-channels consecutive rows form one instance.
 */
export class WideCsvReader implements SeriesReader {
  readonly schema: Schema;
  /** Each instance is parsed into an array of its own. */
  readonly reusesBuffers = false;
  readonly rereadable = false;
  private readonly channels: number;
  private readonly steps: number;
  private readonly hasHeader: boolean;
  private instance = 0;
  /** Rows of the instance under way, and its values (C x L, filled as its rows arrive). */
  private pending: { bytes: Uint8Array; from: number; to: number; line: number; spans: Int32Array }[] = [];
  private values = new Float64Array(0);
  private readonly exact: boolean;

  private constructor(
    private readonly records: TextRecords,
    private readonly names: ColumnNames,
    private readonly valueColumns: readonly number[],
    private firstData: RecordBatch | null,
    headerRaw: string | undefined,
    options: WideTableOptions,
  ) {
    this.channels = options.numChannels ?? 1;
    this.exact = options.exact ?? false;
    this.hasHeader = options.header;
    this.steps = valueColumns.length;
    // The leading columns pass through to wide text output only (they belong to rows, which are
    // series): other formats get the instance and the step, as from NPY.
    this.schema = {
      columns: [
        { name: 'id', type: 'int64', role: 'id', generated: 'instance' },
        { name: 't', type: 'int64', role: 'pass', generated: 'step' },
        ...Array.from({ length: this.channels }, (_, c): ColumnSpec => ({ name: `c${c}`, type: 'float64', role: 'channel' })),
      ],
      channels: this.channels,
      steps: this.steps,
      unbatched: false,
      valueType: 'float64',
      orientation: 'series',
      textDialect: {
        delimiter: options.delimiter,
        terminator: records.splitter.terminator ?? '\n',
        bom: records.bom,
        headerRaw,
        valueColumns,
        columnCount: names.count,
        rowsAre: 'series',
      },
    };
  }

  get name(): string {
    return this.records.name;
  }

  static async open(source: ByteSource, options: WideTableOptions): Promise<WideCsvReader> {
    const { records, names, headerRaw, first } = await startCsv(source, options.delimiter, options.header, options.live ?? false);
    const keep = new Set<number>();
    for (const k of options.keep ?? []) keep.add(names.find(k, '--keep', source.name));
    // Leading columns pass through while they are kept or not numeric in the first rows.
    let lead = 0;
    while (lead < names.count && (keep.has(lead) || (first !== null && !numericInSample(first, lead)))) lead++;
    if (lead === names.count)
      throw new TsnormError(
        `${source.name}: no numeric column: the wide layout needs time steps as numeric columns (columns: ${names.listed()})`,
        'TSNORM_CSV',
      );
    const valueColumns = Array.from({ length: names.count - lead }, (_, i) => lead + i);
    return new WideCsvReader(records, names, valueColumns, first, headerRaw, options);
  }

  locate(block: DataBlock, channel: number, step: number): Location {
    const line = block.rows ? block.rows.lines[block.rows.first + channel - block.firstChannel] : undefined;
    return { line, column: this.names.name(this.valueColumns[step]!) };
  }

  close(): Promise<void> {
    return this.records.close();
  }

  /** Whole instances (--num-channels rows each) as they complete. */
  async *blocks(): AsyncIterable<readonly DataBlock[]> {
    let batch = this.firstData;
    this.firstData = null;
    for (; batch; batch = await this.records.next()) {
      const blocks = this.instancesOf(batch);
      if (blocks.length > 0) yield blocks;
    }
    if (this.pending.length > 0) {
      const last = this.pending[this.pending.length - 1]!;
      // The usual cause: a file without a header read with one, so one row is missing.
      const hint = this.hasHeader ? '; if the first line is data, not column names, add --no-header' : '';
      throw new TsnormError(
        `${this.name}: line ${last.line}: the input ends within an instance: ${this.pending.length} row(s) of the ${this.channels} that --num-channels ${this.channels} groups into one${hint}`,
        'TSNORM_CSV',
      );
    }
  }

  private instancesOf(batch: RecordBatch): DataBlock[] {
    const L = this.steps;
    const out: DataBlock[] = [];
    for (let r = 0; r < batch.count; r++) {
      // Rows are parsed straight into their instance's array: a row may hold millions of steps.
      const c = this.pending.length;
      if (c === 0) this.values = new Float64Array(this.channels * L);
      const values = this.values;
      for (let t = 0; t < L; t++) {
        const col = this.valueColumns[t]!;
        const x = cellNumber(batch, r, col);
        if (x === undefined)
          throw cellError(
            this.name,
            batch.lines[r]!,
            this.names.name(col),
            `'${cellForMessage(cellText(batch, r, col))}' is not a number (time steps must be numeric)`,
          );
        if (this.exact && roundedInteger(cellText(batch, r, col), x))
          throw cellError(this.name, batch.lines[r]!, this.names.name(col), roundedIntegerMessage(`'${cellForMessage(cellText(batch, r, col))}'`));
        values[c * L + t] = x;
      }
      const k = r * batch.columns * 2;
      this.pending.push({
        bytes: batch.bytes,
        from: batch.records[2 * r]!,
        to: batch.records[2 * r + 1]!,
        line: batch.lines[r]!,
        spans: batch.spans.subarray(k, k + batch.columns * 2),
      });
      if (this.pending.length === this.channels) out.push(this.completeInstance(batch.columns));
    }
    return out;
  }

  private completeInstance(columns: number): DataBlock {
    const rows = this.pending;
    this.pending = [];
    const L = this.steps;
    // The rows may come from several reads: their bytes copied together, offsets moved along.
    const bytes = new Uint8Array(rows.reduce((n, row) => n + row.to - row.from, 0));
    const spans = new Int32Array(rows.length * columns * 2);
    const records = new Int32Array(rows.length * 2);
    let at = 0;
    rows.forEach((row, c) => {
      bytes.set(row.bytes.subarray(row.from, row.to), at);
      const shift = at - row.from;
      for (let j = 0; j < columns * 2; j++) spans[c * columns * 2 + j] = row.spans[j]! + shift;
      records[2 * c] = at;
      at += row.to - row.from;
      records[2 * c + 1] = at;
    });
    const text: RowText = { bytes, records, lines: Int32Array.from(rows, (r) => r.line), spans, columns, first: 0, count: rows.length };
    return {
      instance: this.instance++,
      values: this.values,
      offset: 0,
      channelStride: L,
      stepStride: 1,
      firstChannel: 0,
      channelCount: this.channels,
      firstStep: 0,
      stepCount: L,
      instanceSteps: L,
      rows: text,
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
