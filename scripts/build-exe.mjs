#!/usr/bin/env node
// `npm run build:exe`: dist/tsnorm, one Linux x64 executable that needs no Node and no
// node_modules. Node's own single-executable mechanism (SEA), offline, from the local node:
//   1. esbuild bundles the CLI into one CommonJS script (SEA runs one script; the per-format
//      chunks of the normal build become lazily initialised parts of it);
//   2. `node --experimental-sea-config` turns it into a blob, with the native codec addons
//      (LZ4, ZSTD) as assets (src/io/embedded.ts loads them from there);
//   3. postject injects the blob into a copy of this machine's node binary.
// pkg was the first choice: its classic mode downloads base binaries (no network here), and
// @yao-pkg/pkg's SEA mode produced a plain copy of node with nothing injected when its postject
// step failed offline. Doing the three steps here keeps them visible, and the result is checked:
// a copy of node would answer --version with node's version, not tsnorm's.
import { build } from 'esbuild';
import { lazyChildProcess } from './esbuild-plugins.mjs';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const work = path.join(root, 'dist/exe');
const exe = path.join(root, 'dist/tsnorm');
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`build:exe makes a Linux x64 executable; this is ${process.platform} ${process.arch}`);
  process.exit(1);
}
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });

// 1. One CommonJS script.
const script = path.join(work, 'tsnorm.cjs');
await build({
  entryPoints: [path.join(root, 'src/cli/exe-entry.ts')],
  plugins: [lazyChildProcess],
  outfile: script,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  define: {
    TSNORM_VERSION: JSON.stringify(version),
    // import.meta does not exist in CommonJS: the executable's own path stands in for it.
    'import.meta.url': '__tsnormExeUrl',
  },
  banner: { js: "var __tsnormExeUrl = require('node:url').pathToFileURL(process.execPath).href;" },
  logLevel: 'warning',
});

// The CSV formatting worker's script: an asset, started with eval (src/io/worker-script.ts).
const worker = path.join(work, 'csv-format-worker.cjs');
await build({
  entryPoints: [path.join(root, 'src/formats/csv/format-worker.ts')],
  outfile: worker,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});

// 2. The blob, with the native addons, the worker's script and the chart library as assets.
const addon = (pkg, file) => path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
const assets = {
  'lz4-napi.node': addon('@antoniomuso/lz4-napi-linux-x64-gnu', 'lz4-napi.linux-x64-gnu.node'),
  '@toondepauw/node-zstd.node': addon('@toondepauw/node-zstd-linux-x64-gnu', 'node-zstd.linux-x64-gnu.node'),
  'csv-format-worker.cjs': worker,
  // Parquet's decoder and encoder (src/formats/parquet/wasm.ts).
  'parquet_wasm_bg.wasm': require.resolve('parquet-wasm/esm/parquet_wasm_bg.wasm'),
  // check's HTML report inlines its chart library (src/pipeline/check-html.ts).
  'uPlot.iife.min.js': path.join(path.dirname(require.resolve('uplot')), 'uPlot.iife.min.js'),
  'uPlot.min.css': path.join(path.dirname(require.resolve('uplot')), 'uPlot.min.css'),
};
const blob = path.join(work, 'sea-prep.blob');
const config = path.join(work, 'sea-config.json');
fs.writeFileSync(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets }, null, 2));
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' });

// 3. Into a copy of node.
fs.copyFileSync(process.execPath, exe);
fs.chmodSync(exe, 0o755);
const { inject } = require('postject');
await inject(exe, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2' });

// The check: tsnorm's version, from the executable alone.
const r = spawnSync(exe, ['--version'], { encoding: 'utf8', cwd: work, env: { PATH: '/usr/bin:/bin' } });
if (r.status !== 0 || r.stdout.trim() !== version) {
  console.error(`build:exe: ${exe} --version said ${JSON.stringify(r.stdout.trim())} (exit ${r.status}), not ${version}: nothing was injected`);
  fs.rmSync(exe, { force: true });
  process.exit(1);
}
console.log(`build:exe: ${path.relative(root, exe)} (${(fs.statSync(exe).size / 1e6).toFixed(0)} MB), tsnorm ${version}`);
