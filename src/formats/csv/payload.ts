/**
 * What a CSV reader attaches to each block so that the CSV writer can reproduce the rows: their
 * raw text and cell spans. The writer replaces the value cells and copies every other byte.
 */
export interface CsvRowsPayload {
  readonly kind: 'csv-rows';
  readonly raws: readonly string[];
  /** 1-based line number of each row, for messages. */
  readonly lines: readonly number[];
  /** Cell spans, `columns` pairs per row (see RecordBatch). */
  readonly spans: Int32Array;
  readonly columns: number;
  /** Index in raws of the block's first row. */
  readonly first: number;
}

export function isCsvRows(p: unknown): p is CsvRowsPayload {
  return typeof p === 'object' && p !== null && (p as { kind?: unknown }).kind === 'csv-rows';
}

/** How the rows of a CSV file map to the data: what the CSV writer needs to write rows back. */
export interface CsvShape {
  /** Long: a row is a time step, value cells are channels. Wide: a row is a channel, value cells are steps. */
  readonly layout: 'long' | 'wide';
  /** Column index of each value cell, in order (channels for long, steps for wide). */
  readonly valueColumns: readonly number[];
  readonly columns: number;
  readonly headerRaw: string | undefined;
  readonly delimiter: string;
  readonly terminator: '\n' | '\r\n';
  readonly bom: boolean;
}
