#!/usr/bin/env node
'use strict';
// Thin entry point: everything lives in dist/bundle/tsnorm.cjs (built from src/ by `npm run
// build`: tsc, then scripts/bundle.mjs). It is loaded with V8's code cache
// (dist/bundle/tsnorm.cjs.cache, made at build time by running sample jobs through it): the
// functions a run needs are deserialized instead of parsed and compiled, which is most of what
// start-up costs beyond Node's own. Node 20 caches no code for ES modules, so this file is
// CommonJS (bin/package.json says so) and no ES module loader starts either. A cache from
// another Node or V8 is rejected by V8, and the script is then compiled as usual. apache-arrow
// is a script of its own beside the bundle, with its own cache, loaded when Arrow is used.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');

const BUNDLE = path.join(__dirname, '../dist/bundle/tsnorm.cjs');
// Scripts beside the bundle that it requires by these names and that load with a code cache of
// their own (scripts/esbuild-plugins.mjs arrowChunk says why apache-arrow is one), and the
// package each holds: required from node_modules when the script is missing.
const CHUNKS = { './apache-arrow.cjs': 'apache-arrow' };

/** A CommonJS script run with its V8 code cache (FILE.cache) when one fits this Node. */
function compile(file) {
  // The scripts are ASCII (esbuild escapes the rest; scripts/bundle.mjs checks): read as Latin-1,
  // each becomes a one-byte string without UTF-8 decoding.
  const source = fs.readFileSync(file, 'latin1');
  let cachedData;
  try {
    cachedData = fs.readFileSync(`${file}.cache`);
  } catch {
    /* no cache: compile */
  }
  return new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
}

/** Runs a compiled CommonJS script as a module; returns its exports. */
function run(script, file, requireFn) {
  const module = { exports: {} };
  script.runInThisContext()(module.exports, requireFn, module, file, path.dirname(file));
  return module.exports;
}

/** The bundle's main and exports, its compiled script and the chunks loaded so far; undefined when not built. */
function loadBundle() {
  let script;
  try {
    script = compile(BUNDLE);
  } catch (err) {
    if (err && err.code === 'ENOENT') return undefined;
    throw err;
  }
  const nodeRequire = createRequire(BUNDLE);
  const chunks = new Map();
  const loaded = new Map();
  const bundleRequire = (id) => {
    if (!Object.hasOwn(CHUNKS, id)) return nodeRequire(id);
    if (!loaded.has(id)) {
      const file = path.join(path.dirname(BUNDLE), id);
      let chunk;
      try {
        chunk = compile(file);
      } catch (err) {
        if (!(err && err.code === 'ENOENT')) throw err;
        loaded.set(id, nodeRequire(CHUNKS[id]));
        return loaded.get(id);
      }
      chunks.set(path.basename(file), chunk);
      loaded.set(id, run(chunk, file, nodeRequire));
    }
    return loaded.get(id);
  };
  const exports = run(script, BUNDLE, bundleRequire);
  return { main: exports.main, exports, script, chunks };
}

if (require.main === module) {
  const bundle = loadBundle();
  if (!bundle) {
    process.stderr.write('tsnorm: not built yet: run `npm ci && npm run build` in the checkout first\n');
    process.exit(70);
  }
  // Let pending stdout writes drain before leaving: set the code, do not exit.
  bundle.main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
} else {
  module.exports = { loadBundle, BUNDLE };
}
