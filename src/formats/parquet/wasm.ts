import fs from 'node:fs';
import { createRequire } from 'node:module';
import * as parquetWasm from 'parquet-wasm/esm';
import { printable } from '../../errors.js';
import { embeddedBytes } from '../../io/embedded.js';

export type ParquetWasm = typeof parquetWasm;

/** The module's name, as a file in the package and as an asset of the single executable. */
export const PARQUET_WASM_ASSET = 'parquet_wasm_bg.wasm';

let ready: Promise<ParquetWasm> | undefined;

/** The file parquet-wasm is working on, and whether it reads or writes it: named if it traps. */
const active = { name: '', writing: false };

/** Says which file the next parquet-wasm calls are for. */
export function parquetWasmFor(name: string, writing: boolean): void {
  active.name = name;
  active.writing = writing;
}

/**
 * A trap in the WebAssembly module (a Rust panic: a type it does not handle, data it does not
 * expect) can surface in a microtask of the module's own, where no caller's try/catch sees it.
 * It ends the run as any refused input does: one line naming the file, exit 2 (temporary files
 * and half-written outputs are removed on exit).
 */
function onTrap(err: unknown): void {
  const wasmTrap = (err instanceof Error && err.name === 'RuntimeError') || (err instanceof RangeError && /call stack/i.test(err.message));
  const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  if (wasmTrap) {
    const what = active.writing
      ? `cannot write this as Parquet: the encoder stopped (${why}); a type it does not write, or too many row groups (a larger --row-group-size)`
      : `cannot read this Parquet file: the decoder stopped (${why}); a corrupt file, or a type it does not read`;
    process.stderr.write(`tsnorm: ${printable(active.name)}: ${what}\n`);
    process.exit(2);
  }
  process.stderr.write(`tsnorm: internal error: ${printable(why ?? '')} (please report it with the command that caused it)\n`);
  process.exit(70);
}

/**
 * parquet-wasm (arrow-rs's Parquet reader and writer, compiled to WebAssembly), instantiated once
 * from its module's bytes: the single executable's asset, else the package's file. The bytes are
 * handed over explicitly so that nothing is fetched by URL (the bundle has no import.meta).
 */
export function loadParquetWasm(): Promise<ParquetWasm> {
  ready ??= (async () => {
    process.on('uncaughtException', onTrap);
    const bytes = embeddedBytes(PARQUET_WASM_ASSET) ?? fs.readFileSync(createRequire(import.meta.url).resolve(`parquet-wasm/esm/${PARQUET_WASM_ASSET}`));
    await parquetWasm.default({ module_or_path: bytes });
    return parquetWasm;
  })();
  return ready;
}
