import type { BufferPool } from '../../../io/buffer-pool.js';
import { SCAN_WASM_BASE64 } from './scan-wasm.js';

/** The scan module's exports (scan.as.ts). */
interface ScanExports {
  readonly memory: WebAssembly.Memory;
  heapStart(): number;
  splitPlain(
    base: number,
    pos: number,
    n: number,
    atEnd: number,
    delim: number,
    columns: number,
    records: number,
    spans: number,
    lines: number,
    capacity: number,
    firstLine: number,
  ): number;
  line(): number;
  raggedCells(): number;
  parseCells(base: number, spans: number, columns: number, from: number, count: number, cols: number, C: number, values: number): number;
}

let compiled: WebAssembly.Module | undefined;

/**
 * Regions larger than this are split by the JavaScript splitter: the module's memory, which never
 * shrinks, stays below ~20 MB (a region's spans take up to 16 bytes per byte of text).
 */
export const SCAN_MAX_REGION = 1 << 20;

/** What splitPlain found: records, their cells and lines (copies, owned by the caller). */
export interface ScannedRecords {
  readonly count: number;
  readonly records: Int32Array;
  readonly spans: Int32Array;
  readonly lines: Int32Array;
  /** The line number after the last line split. */
  readonly line: number;
  /** A record with another number of cells: its line and cells (count is then 0). */
  readonly ragged?: { readonly line: number; readonly cells: number } | undefined;
  /** The pool's buffers that records, spans and lines are on. */
  readonly buffers: ArrayBuffer[];
}

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * The CSV scan kernel over one region at a time: the region is copied into the module's memory
 * (load), split into records, and its numbers read from there. One scanner per reader.
 */
export class CsvScanner {
  private readonly wasm: ScanExports;
  private readonly heap: number;
  /** The region now in memory. */
  private region: Uint8Array | undefined;

  constructor() {
    compiled ??= new WebAssembly.Module(Buffer.from(SCAN_WASM_BASE64, 'base64'));
    this.wasm = new WebAssembly.Instance(compiled).exports as unknown as ScanExports;
    this.heap = this.wasm.heapStart();
  }

  /** Splits a region (no quotes in it) into records of `columns` cells; the results on buffers from `pool` when given. */
  split(region: Uint8Array, atEnd: boolean, delim: number, columns: number, firstLine: number, pool?: BufferPool): ScannedRecords {
    const n = region.length;
    // Every record has `columns` - 1 delimiters and a line feed (or the end): at most this many.
    const capacity = Math.floor(n / columns) + 1;
    const recordsAt = this.heap + align8(n);
    const linesAt = recordsAt + capacity * 8;
    const spansAt = align8(linesAt + capacity * 4);
    this.reserve(spansAt + capacity * columns * 8);
    new Uint8Array(this.wasm.memory.buffer, this.heap, n).set(region);
    this.region = region;
    const count = this.wasm.splitPlain(this.heap, 0, n, atEnd ? 1 : 0, delim, columns, recordsAt, spansAt, linesAt, capacity, firstLine);
    if (count < 0) {
      return {
        count: 0,
        records: new Int32Array(0),
        spans: new Int32Array(0),
        lines: new Int32Array(0),
        line: this.wasm.line(),
        ragged: { line: this.wasm.line(), cells: this.wasm.raggedCells() },
        buffers: [],
      };
    }
    const buf = this.wasm.memory.buffer;
    const buffers: ArrayBuffer[] = [];
    const copy = (at: number, n: number): Int32Array => {
      const from = new Int32Array(buf, at, n);
      if (!pool) return from.slice();
      const buffer = pool.take(n * 4);
      buffers.push(buffer);
      const to = new Int32Array(buffer, 0, n);
      to.set(from);
      return to;
    };
    return {
      count,
      records: copy(recordsAt, count * 2),
      spans: copy(spansAt, count * columns * 2),
      lines: copy(linesAt, count),
      line: this.wasm.line(),
      buffers,
    };
  }

  /**
   * Reads the numbers of `cols` in each record into out (record-major, cols.length a record), in
   * place when the fast path takes them; `slow(q)` reads cell q (record q / C, column cols[q % C])
   * otherwise. The region must be the one last split, with these spans.
   */
  parse(region: Uint8Array, spans: Int32Array, columns: number, count: number, cols: Int32Array, out: Float64Array, slow: (q: number) => number): void {
    const C = cols.length;
    const total = count * C;
    const spansAt = this.heap + align8(region.length);
    const colsAt = align8(spansAt + count * columns * 8);
    const valuesAt = align8(colsAt + C * 4);
    this.reserve(valuesAt + total * 8 + 16); // the kernel reads up to 16 bytes past a cell
    const buf = this.wasm.memory.buffer;
    // The region stays in memory from split() unless another one came since; the spans (perhaps
    // a batch's without its header) are copied in each time.
    if (this.region !== region) {
      new Uint8Array(buf, this.heap, region.length).set(region);
      this.region = region;
    }
    new Int32Array(buf, spansAt, count * columns * 2).set(spans.subarray(0, count * columns * 2));
    new Int32Array(buf, colsAt, C).set(cols);
    let from = 0;
    const values = new Float64Array(buf, valuesAt, total);
    while (from < total) {
      const declined = this.wasm.parseCells(this.heap, spansAt, columns, from, count, colsAt, C, valuesAt);
      if (declined < 0) break;
      values[declined] = slow(declined);
      from = declined + 1;
    }
    out.set(values);
  }

  private reserve(end: number): void {
    const memory = this.wasm.memory;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
  }
}
