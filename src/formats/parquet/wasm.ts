import fs from 'node:fs';
import { createRequire } from 'node:module';
import * as parquetWasm from 'parquet-wasm/esm';
import { embeddedBytes } from '../../io/embedded.js';

export type ParquetWasm = typeof parquetWasm;

/** The module's name, as a file in the package and as an asset of the single executable. */
export const PARQUET_WASM_ASSET = 'parquet_wasm_bg.wasm';

let ready: Promise<ParquetWasm> | undefined;

/**
 * parquet-wasm (arrow-rs's Parquet reader and writer, compiled to WebAssembly), instantiated once
 * from its module's bytes: the single executable's asset, else the package's file. The bytes are
 * handed over explicitly so that nothing is fetched by URL (the bundle has no import.meta).
 */
export function loadParquetWasm(): Promise<ParquetWasm> {
  ready ??= (async () => {
    const bytes = embeddedBytes(PARQUET_WASM_ASSET) ?? fs.readFileSync(createRequire(import.meta.url).resolve(`parquet-wasm/esm/${PARQUET_WASM_ASSET}`));
    await parquetWasm.default({ module_or_path: bytes });
    return parquetWasm;
  })();
  return ready;
}
