import type { RowBytes } from './row-bytes.js';

/**
 * Rows read from CSV, written back with their value cells replaced and every other byte copied:
 * pure functions over bytes and numbers (no I/O), run by the CSV writer in its own thread or in a
 * formatting worker (format-worker.ts).
 */

/** Where a row's value cells are, and what ends a row (the input's delimiter and terminator). */
export interface RowLayout {
  /** Value cells in the order they appear in a row: the index of each value, and its column. */
  readonly orderValue: Int32Array;
  readonly orderColumn: Int32Array;
  readonly delimiter: number;
  readonly terminator: Uint8Array;
}

/** Rows' text and their new values: row i's value k is values[offset + i * rowStride + k * cellStride]. */
export interface RowsAndValues {
  readonly bytes: Uint8Array;
  /** [start, end) of each row's text, two entries a row; cell spans, `columns` pairs a row. */
  readonly records: Int32Array;
  readonly spans: Int32Array;
  readonly columns: number;
  /** The rows: [first, first + count) of records. */
  readonly first: number;
  readonly count: number;
  readonly values: ArrayLike<number>;
  readonly offset: number;
  readonly rowStride: number;
  readonly cellStride: number;
}

/**
 * Value cells [j0, j1) of row i (in order of appearance), each after the bytes that precede it
 * from `pos`; returns the position after the last cell written.
 */
export function rewriteCells(out: RowBytes, rows: RowsAndValues, layout: RowLayout, i: number, j0: number, j1: number, pos: number): number {
  const { orderValue, orderColumn, delimiter } = layout;
  const { bytes, spans, values, cellStride } = rows;
  const r = rows.first + i;
  const base = r * rows.columns * 2;
  const at = rows.offset + i * rows.rowStride;
  let prev = j0 > 0 ? orderColumn[j0 - 1]! : -2;
  for (let j = j0; j < j1; j++) {
    const col = orderColumn[j]!;
    // Between adjacent value cells there is exactly one delimiter: no need to cut it out.
    if (col === prev + 1) out.byte(delimiter);
    else out.copy(bytes, pos, spans[base + col * 2]!);
    out.number(values[at + orderValue[j]! * cellStride]!);
    pos = spans[base + col * 2 + 1]!;
    prev = col;
  }
  return pos;
}

/** Whole rows, each with its terminator. */
export function rewriteRows(out: RowBytes, rows: RowsAndValues, layout: RowLayout): void {
  const cells = layout.orderValue.length;
  const { records } = rows;
  for (let i = 0; i < rows.count; i++) {
    const r = rows.first + i;
    const pos = rewriteCells(out, rows, layout, i, 0, cells, records[2 * r]!);
    out.copy(rows.bytes, pos, records[2 * r + 1]!);
    out.copy(layout.terminator, 0, layout.terminator.length);
  }
}
