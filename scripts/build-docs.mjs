#!/usr/bin/env node
// `npm run docs`: writes the flag tables of docs/manual.md from the flag list (src/cli/flags.ts,
// as built in dist/cli), between the `<!-- flags:TABLE -->` and `<!-- /flags -->` lines.
// test/cli/flags.test.ts checks that the committed manual is what the list gives today.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withFlagTables } from '../dist/cli/flags-doc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, 'docs/manual.md');
fs.writeFileSync(file, withFlagTables(fs.readFileSync(file, 'utf8')));
console.log('docs/manual.md: flag tables written');
