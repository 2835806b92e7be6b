#!/usr/bin/env node
// Bundles the command line into one CommonJS script, dist/bundle/tsnorm.cjs, with esbuild, and
// makes its V8 code cache (dist/bundle/tsnorm.cjs.cache) by running sample jobs through it.
// Start-up is what this is for: one file loads in a fraction of the time of hundreds (apache-
// arrow alone took ~0.1 s as its package's modules), and a code cache spares parsing and
// compiling what a run uses, which Node 20 does not do for ES modules. Each format's modules
// stay lazy inside the script (esbuild initialises a module on first import), so an NPY job
// never runs Arrow's code; apache-arrow itself is a second script, dist/bundle/apache-arrow.cjs,
// with a cache of its own, read only by Arrow jobs. `bin/tsnorm.js` loads them.
import { build } from 'esbuild';
import { arrowChunk, lazyChildProcess } from './esbuild-plugins.mjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--out DIR` builds into DIR/dist/bundle, with a copy of bin/ in DIR/bin to load it (for `npm run
// bench -- --node`: a build whose code cache is made by, and so accepted by, another Node).
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]) : root;
if (out !== root) {
  fs.mkdirSync(path.join(out, 'bin'), { recursive: true });
  for (const f of ['tsnorm.js', 'package.json']) fs.copyFileSync(path.join(root, 'bin', f), path.join(out, 'bin', f));
}
fs.mkdirSync(path.join(out, 'dist/bundle'), { recursive: true });
const bundle = path.join(out, 'dist/bundle/tsnorm.cjs');
// The old layout's chunks (an ES module and a chunk per format) go; the bundle and its cache are
// replaced by rename, so that a CLI started meanwhile (tests run beside `npm pack`'s build)
// reads the old files or the new ones, never half of one.
for (const old of ['chunks', 'main.js']) fs.rmSync(path.join(out, 'dist/bundle', old), { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, 'src/cli/cli-entry.ts')],
  plugins: [lazyChildProcess, arrowChunk],
  outfile: `${bundle}.tmp`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Native codecs are loaded by require() at run time, from node_modules.
  external: ['lz4-napi', '@toondepauw/node-zstd'],
  define: {
    // The version, known at build time: start-up reads no package.json.
    TSNORM_VERSION: JSON.stringify(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version),
    // import.meta does not exist in CommonJS: the bundle's own URL stands in for it.
    'import.meta.url': '__tsnormBundleUrl',
  },
  banner: { js: "var __tsnormBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});

// apache-arrow, a script of its own (scripts/esbuild-plugins.mjs arrowChunk says why).
const arrow = path.join(out, 'dist/bundle/apache-arrow.cjs');
await build({
  stdin: { contents: "module.exports = require('apache-arrow');", resolveDir: root, loader: 'js' },
  outfile: `${arrow}.tmp`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});

// bin/tsnorm.js reads both scripts as Latin-1 (faster than UTF-8): they must be ASCII, as
// esbuild writes them by default (charset: ascii).
for (const file of [bundle, arrow]) {
  if (fs.readFileSync(`${file}.tmp`).some((b) => b > 0x7f)) throw new Error(`bundle: ${path.relative(root, file)}.tmp is not ASCII`);
  fs.rmSync(`${file}.cache`, { force: true });
  fs.renameSync(`${file}.tmp`, file);
}

// The CSV formatting worker: a script of its own, started beside the bundle (src/io/worker-script.ts).
const worker = path.join(out, 'dist/bundle/csv-format-worker.cjs');
await build({
  entryPoints: [path.join(root, 'src/formats/csv/format-worker.ts')],
  outfile: `${worker}.tmp`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
fs.renameSync(`${worker}.tmp`, worker);

// The code cache: sample jobs of each kind, in this process, then what V8 compiled for them.
const { loadBundle } = createRequire(import.meta.url)(path.join(out, 'bin/tsnorm.js'));
const { main, script, chunks, exports } = loadBundle();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnorm-cache-'));
try {
  const fixtures = path.join(root, 'fixtures');
  const jobs = [
    ['normalize', path.join(fixtures, 'example.npy'), '-o', path.join(work, 'a.npy'), '-q'],
    ['fit', path.join(fixtures, 'example.npy'), '--save-stats', path.join(work, 's.json'), '-q'],
    ['apply', path.join(fixtures, 'example.npy'), '--stats', path.join(work, 's.json'), '-o', path.join(work, 'b.csv'), '-q'],
    ['normalize', path.join(fixtures, 'csv/long_quoted/input.csv'), '--id', 'device', '--keep', 'ts', '-o', path.join(work, 'c.csv'), '-q'],
    ['convert', path.join(work, 'a.npy'), '-o', path.join(work, 'd.csv'), '-q'],
  ];
  await runJobs(jobs);
  // The main cache is taken after the Arrow jobs too: our own Arrow modules are in the bundle
  // (~5 ms of an Arrow job to compile, against nothing measurable for other runs).
  await runJobs([
    ['normalize', path.join(fixtures, 'arrow/long_basic.arrow'), '--id', 'item', '--keep', 't', '-o', path.join(work, 'e.arrow'), '-q'],
    ['convert', path.join(fixtures, 'arrow/long_basic_stream.arrows'), '-o', path.join(work, 'f.arrows'), '-q'],
  ]);
  const arrowScript = chunks.get(path.basename(arrow));
  if (!arrowScript) throw new Error('bundle: the Arrow sample jobs did not load dist/bundle/apache-arrow.cjs');
  // A V8 code cache must be used with the flags it was made with. The jobs applied this V8's JIT
  // tuning, if it has one (src/cli/jit.ts), as every job does before it reads apache-arrow's
  // script; the bundle is checked when it loads, before any job, with V8's defaults.
  writeCache(arrow, arrowScript);
  const tuning = exports.jitTuningFor(process.versions.v8);
  if (tuning) exports.setV8Flag(tuning.flag, v8Default(tuning.flag));
  writeCache(bundle, script);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

/** This Node's V8 default for an integer flag, as `node --v8-options` states it. */
function v8Default(flag) {
  const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  const found = new RegExp(`^  ${flag} \\(.*\\)\\s+type: int\\s+default: ${flag}=(\\d+)`, 'm').exec(options);
  if (!found) throw new Error(`bundle: node --v8-options does not state the default ${flag}`);
  return Number(found[1]);
}

async function runJobs(jobs) {
  for (const job of jobs) {
    const code = await main(job);
    if (code !== 0) throw new Error(`bundle: the sample job ${job.join(' ')} failed (exit ${code})`);
  }
}

function writeCache(file, compiled) {
  fs.writeFileSync(`${file}.cache.tmp`, compiled.createCachedData());
  fs.renameSync(`${file}.cache.tmp`, `${file}.cache`);
}
