#!/usr/bin/env node
// Thin entry point: everything lives in dist/cli/main.js (built from src/ by `npm run build`).
import { main } from '../dist/cli/main.js';

const code = await main(process.argv.slice(2));
// Let pending stdout writes drain before leaving.
process.exitCode = code;
