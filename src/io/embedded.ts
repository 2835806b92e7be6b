import fs from 'node:fs';
import { createRequire } from 'node:module';
import { createScratchFile, scratchIo, writeScratch } from './temp-files.js';

/** Node's single-executable API (`node:sea`, Node >= 20.12), when this program runs as one. */
interface SeaApi {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
}

let sea: SeaApi | null | undefined;

function seaApi(): SeaApi | null {
  if (sea === undefined) {
    try {
      const api = createRequire(import.meta.url)('node:sea') as SeaApi;
      sea = api.isSea() ? api : null;
    } catch {
      sea = null; // an older Node: not a single executable either
    }
  }
  return sea;
}

/**
 * A native addon shipped inside the single executable (`npm run build:exe` adds each as an asset
 * named `<package>.node`), or undefined when not running as one. A shared library can only be
 * loaded from a file: the asset is written to a private scratch file (removed at exit) first.
 */
export function embeddedAddon(name: string): unknown {
  const api = seaApi();
  if (!api) return undefined;
  const bytes = new Uint8Array(api.getAsset(`${name}.node`));
  const file = createScratchFile('addon');
  writeScratch(file.fd, bytes, 0, bytes.length, 0);
  scratchIo(() => fs.closeSync(file.fd));
  const module = { exports: {} as unknown };
  process.dlopen(module, file.path);
  return module.exports;
}

/** A text asset of the single executable (a worker's script), or undefined when not running as one. */
export function embeddedText(name: string): string | undefined {
  const api = seaApi();
  if (!api) return undefined;
  try {
    return Buffer.from(api.getAsset(name)).toString('utf8');
  } catch {
    return undefined; // built without it: the caller works in its own thread
  }
}

/** A binary asset of the single executable (a WebAssembly module), or undefined when not running as one. */
export function embeddedBytes(name: string): Uint8Array | undefined {
  const api = seaApi();
  if (!api) return undefined;
  return new Uint8Array(api.getAsset(name));
}
