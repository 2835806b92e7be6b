import { RYU_WASM_BASE64 } from './ryu-wasm.js';

/** The Ryu module (ryu.as.ts): String(x) written as ASCII bytes into the module's own memory. */
export interface ShortestModule {
  /** Writes String(x) at byte `at` (nothing for NaN); returns where it ends. */
  writeShortest(x: number, at: number): number;
  /** Rows with their value cells replaced, in one call (see ryu.as.ts); returns where the output ends. */
  rewriteRows(
    bytes: number,
    origin: number,
    records: number,
    spans: number,
    columns: number,
    count: number,
    values: number,
    cells: number,
    orderValue: number,
    orderColumn: number,
    delimiter: number,
    term: number,
    termLen: number,
    out: number,
  ): number;
  /** The first byte after the module's tables. */
  heapStart(): number;
  readonly memory: WebAssembly.Memory;
}

let compiled: WebAssembly.Module | undefined;

/** A fresh instance, with memory of its own (one per writer). */
export function shortestModule(): ShortestModule {
  compiled ??= new WebAssembly.Module(Buffer.from(RYU_WASM_BASE64, 'base64'));
  return new WebAssembly.Instance(compiled).exports as unknown as ShortestModule;
}
