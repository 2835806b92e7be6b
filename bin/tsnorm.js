#!/usr/bin/env node
'use strict';
// Thin entry point: everything lives in dist/bundle/tsnorm.cjs (built from src/ by `npm run
// build`: tsc, then scripts/bundle.mjs). It is loaded with V8's code cache
// (dist/bundle/tsnorm.cjs.cache, made at build time by running sample jobs through it): the
// functions a run needs are deserialized instead of parsed and compiled, which is most of what
// start-up costs beyond Node's own. Node 20 caches no code for ES modules, so this file is
// CommonJS (bin/package.json says so) and no ES module loader starts either. A cache from
// another Node or V8 is rejected by V8, and the script is then compiled as usual.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');

const BUNDLE = path.join(__dirname, '../dist/bundle/tsnorm.cjs');

/** The bundle's exports ({ main }) and its compiled script; undefined when not built. */
function loadBundle() {
  let source;
  try {
    // The bundle is ASCII (esbuild escapes the rest; scripts/bundle.mjs checks): read as Latin-1,
    // it becomes a one-byte string without UTF-8 decoding.
    source = fs.readFileSync(BUNDLE, 'latin1');
  } catch (err) {
    if (err && err.code === 'ENOENT') return undefined;
    throw err;
  }
  let cachedData;
  try { cachedData = fs.readFileSync(`${BUNDLE}.cache`); } catch { /* no cache: compile */ }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: BUNDLE, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, path.dirname(BUNDLE));
  return { main: module.exports.main, script };
}

if (require.main === module) {
  const bundle = loadBundle();
  if (!bundle) {
    process.stderr.write('tsnorm: not built yet: run `npm ci && npm run build` in the checkout first\n');
    process.exit(70);
  }
  // Let pending stdout writes drain before leaving: set the code, do not exit.
  bundle.main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
} else {
  module.exports = { loadBundle, BUNDLE };
}
