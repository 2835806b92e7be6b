import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLAGS, type CommandName, flagsOf, givenFormatFlags, optionKey } from '../../src/cli/flags.js';
import { withFlagTables } from '../../src/cli/flags-doc.js';
import { buildProgram } from '../../src/cli/main.js';
import { describeCommand } from '../../src/cli/shell.js';
import { ROOT } from '../helpers/cli.js';

// The flag list is the one place a flag is declared: the commands take exactly its flags, and the
// manual's flag tables are what it gives (npm run docs writes them).

const manual = fs.readFileSync(path.join(ROOT, 'docs/manual.md'), 'utf8');

describe('the flag list', () => {
  it('gives each command exactly its flags, in its order, as --help lists them', () => {
    const program = describeCommand(buildProgram(async () => {}));
    const commands = [...program.commands, ...program.commands.flatMap((c) => c.commands)];
    for (const name of ['normalize', 'fit', 'apply', 'inverse', 'convert', 'inspect', 'check', 'stats merge'] as CommandName[]) {
      const spec = commands.find((c) => c.path.slice(1).join(' ') === name)!;
      const listed = spec.flags.map((f) => f.long).filter((l) => l !== '--help');
      expect(listed, name).toEqual(
        flagsOf(name)
          .filter((f) => !f.hidden)
          .map((f) => `--${f.long}`),
      );
    }
  });

  it('has each flag once, and each in some command', () => {
    expect(new Set(FLAGS.map((f) => f.long)).size).toBe(FLAGS.length);
    for (const f of FLAGS) expect(f.commands.length, f.long).toBeGreaterThan(0);
  });

  it("makes the manual's flag tables (npm run docs), and the docs name every flag --help shows", () => {
    expect(manual).toContain('<!-- flags:common -->');
    expect(withFlagTables(manual)).toBe(manual);
    const docs = fs
      .readdirSync(path.join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => fs.readFileSync(path.join(ROOT, 'docs', f), 'utf8'))
      .join('\n');
    for (const f of FLAGS.filter((x) => !x.hidden)) expect(docs, f.long).toContain(`--${f.long}`);
  });

  it('says which format flags were given, a negated one by its false value', () => {
    expect(givenFormatFlags({ id: 'x', header: false, eps: '1' }).map((f) => f.flag)).toEqual(['--id', '--no-header']);
    expect(givenFormatFlags({ header: true })).toEqual([]);
    expect(optionKey(FLAGS.find((f) => f.long === 'save-stats')!)).toBe('saveStats');
  });
});
