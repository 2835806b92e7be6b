#!/usr/bin/env node
// Thin entry point: everything lives in dist/bundle/main.js (built from src/ by `npm run build`:
// tsc, then scripts/bundle.mjs).
let main;
try {
  ({ main } = await import('../dist/bundle/main.js'));
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bundle/main.js')) {
    process.stderr.write('tsnorm: not built yet: run `npm ci && npm run build` in the checkout first\n');
    process.exit(70);
  }
  throw err;
}

const code = await main(process.argv.slice(2));
// Let pending stdout writes drain before leaving.
process.exitCode = code;
