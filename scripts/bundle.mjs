#!/usr/bin/env node
// Bundles the command line into dist/bundle/ with esbuild: one module for the CLI and the core,
// and one chunk per format's modules and libraries (loaded by dynamic import on first use, so an
// NPY job still never loads apache-arrow). One file loads in a fraction of the time of hundreds:
// apache-arrow alone took ~0.1 s to load as its package's modules. `bin/tsnorm.js` runs it.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Chunks are named by hash: clear the old ones rather than let them pile up.
fs.rmSync(path.join(root, 'dist/bundle'), { recursive: true, force: true });
await build({
  entryPoints: { main: path.join(root, 'src/cli/main.ts') },
  outdir: path.join(root, 'dist/bundle'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Native codecs are loaded by require() at run time, from node_modules.
  external: ['lz4-napi', '@toondepauw/node-zstd'],
  // Some dependencies are CommonJS and call require(): give the bundle one.
  banner: { js: "import { createRequire as __tsnormRequire } from 'node:module'; const require = __tsnormRequire(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
  // The version, known at build time: start-up reads no package.json.
  define: { TSNORM_VERSION: JSON.stringify(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version) },
  logLevel: 'warning',
});
