import { isNullValue } from '../../core/missing.js';
import { type ShortestModule, shortestModule } from './dtoa/shortest.js';
import type { RowLayout } from './row-rewrite.js';

const PAGE = 65536;
/** Room for any one number: "-1.2345678901234567e-308" is 24 bytes. */
const NUMBER_ROOM = 32;
const encoder = new TextEncoder();
const align8 = (n: number): number => (n + 7) & ~7;

/**
 * Rows to rewrite, packed: the rows' bytes, their [start, end) and cell spans as offsets in the
 * text they came from (`origin` is the offset of bytes[0]), row i's value k at values[i * cells + k].
 */
export interface PackedRows {
  readonly bytes: Uint8Array;
  readonly origin: number;
  readonly records: Int32Array;
  readonly spans: Int32Array;
  readonly values: Float64Array;
  readonly columns: number;
  readonly count: number;
  readonly cells: number;
}

/**
 * Output text built as UTF-8 bytes, numbers included: they are written by the Ryu module straight
 * into its memory, which holds this buffer, so no string is made per number. Text is copied in
 * char by char while it is ASCII.
 */
export class RowBytes {
  private readonly ryu: ShortestModule;
  private readonly start: number;
  private buf: Uint8Array;
  private pos: number;

  /**
   * `format` replaces the shortest text (e.g. --precision); its text is ASCII. `nanText`, when
   * given, is written for a NaN of the data's own; a missing value is always an empty cell.
   */
  constructor(
    private readonly format?: (x: number) => string,
    private readonly nanText?: string,
  ) {
    this.ryu = shortestModule();
    this.start = this.ryu.heapStart();
    this.pos = this.start;
    this.buf = new Uint8Array(this.ryu.memory.buffer);
  }

  get length(): number {
    return this.pos - this.start;
  }

  /** Unicode text s[from, to), as UTF-8. */
  text(s: string, from = 0, to = s.length): void {
    if (this.pos + (to - from) * 3 > this.buf.length) this.grow((to - from) * 3);
    const b = this.buf;
    let p = this.pos;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        p += encoder.encodeInto(s.slice(i, to), b.subarray(p)).written;
        break;
      }
      b[p++] = c;
    }
    this.pos = p;
  }

  /** A byte string's s[from, to) (one character per byte, as the CSV reader holds text): its bytes. */
  byteString(s: string, from = 0, to = s.length): void {
    if (this.pos + (to - from) > this.buf.length) this.grow(to - from);
    const b = this.buf;
    let p = this.pos;
    for (let i = from; i < to; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Bytes src[from, to). */
  copy(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (this.pos + n > this.buf.length) this.grow(n);
    const b = this.buf;
    let p = this.pos;
    // Cells are short: a loop beats a call to set() with a subarray below some dozens of bytes.
    if (n < 64) for (let i = from; i < to; i++) b[p++] = src[i]!;
    else {
      b.set(src.subarray(from, to), p);
      p += n;
    }
    this.pos = p;
  }

  /**
   * Rows with their value cells replaced, all in the module (see ryu.as.ts rewriteRows): the
   * rows' bytes, spans and packed values are copied in after the room the output may take. Only
   * for the shortest text (a `format` is JavaScript's).
   */
  rows(rows: PackedRows, layout: RowLayout): void {
    const { count, columns, cells } = rows;
    const term = layout.terminator;
    const bound = rows.bytes.length + count * (cells * NUMBER_ROOM + term.length);
    const bytesAt = align8(this.pos + bound);
    const recordsAt = align8(bytesAt + rows.bytes.length);
    const spansAt = recordsAt + count * 8;
    const valuesAt = spansAt + count * columns * 8;
    const orderValueAt = valuesAt + count * cells * 8;
    const orderColumnAt = orderValueAt + cells * 4;
    const termAt = orderColumnAt + cells * 4;
    const end = termAt + term.length;
    if (end > this.buf.length) this.grow(end - this.pos);
    const buffer = this.ryu.memory.buffer;
    this.buf.set(rows.bytes, bytesAt);
    new Int32Array(buffer, recordsAt, count * 2).set(rows.records.subarray(0, count * 2));
    new Int32Array(buffer, spansAt, count * columns * 2).set(rows.spans.subarray(0, count * columns * 2));
    new Float64Array(buffer, valuesAt, count * cells).set(rows.values.subarray(0, count * cells));
    new Int32Array(buffer, orderValueAt, cells).set(layout.orderValue);
    new Int32Array(buffer, orderColumnAt, cells).set(layout.orderColumn);
    this.buf.set(term, termAt);
    this.pos = this.ryu.rewriteRows(
      bytesAt,
      rows.origin,
      recordsAt,
      spansAt,
      columns,
      count,
      valuesAt,
      cells,
      orderValueAt,
      orderColumnAt,
      layout.delimiter,
      termAt,
      term.length,
      this.pos,
    );
  }

  /** One byte. */
  byte(x: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = x;
  }

  /**
   * x as String(x) writes it (or as `format` does); NaN as nothing (or `nanText`); -0 as "-0"
   * (String(-0) is "0", which reads back as +0: the sign would be lost).
   */
  number(x: number): void {
    if (x !== x) {
      if (this.nanText !== undefined && !isNullValue(x)) this.byteString(this.nanText);
      return;
    }
    if (x === 0 && 1 / x < 0) {
      this.byteString('-0');
      return;
    }
    if (this.format) {
      this.byteString(this.format(x));
      return;
    }
    if (this.pos + NUMBER_ROOM > this.buf.length) this.grow(NUMBER_ROOM);
    this.pos = this.ryu.writeShortest(x, this.pos);
  }

  /**
   * The bytes so far, in place (no copy): valid until this buffer is written to again. Sinks are
   * done with what they were given when their write resolves, so the writer awaits the write and
   * then calls clear().
   */
  view(): Uint8Array {
    return this.buf.subarray(this.start, this.pos);
  }

  /** Empties the buffer (after the bytes of view() were written). */
  clear(): void {
    this.pos = this.start;
  }

  private grow(need: number): void {
    const memory = this.ryu.memory;
    const missing = this.pos + need - memory.buffer.byteLength;
    // At least double, so that a long run of rows grows it a few times only.
    memory.grow(Math.max(Math.ceil(missing / PAGE), memory.buffer.byteLength / PAGE));
    this.buf = new Uint8Array(memory.buffer);
  }
}
