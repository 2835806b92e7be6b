#!/usr/bin/env node
// `npm run man`: writes man/tsnorm.1 from the command definitions (the built dist/cli), the same
// ones --help prints. test/cli/man-page.test.ts checks that the committed page is up to date.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../dist/cli/main.js';
import { manPage } from '../dist/cli/manpage.js';
import { describeCommand } from '../dist/cli/shell.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const page = manPage(describeCommand(buildProgram(async () => {})), version);
fs.mkdirSync(path.join(root, 'man'), { recursive: true });
fs.writeFileSync(path.join(root, 'man/tsnorm.1'), page);
console.log(`man/tsnorm.1: ${page.split('\n').length} lines`);
