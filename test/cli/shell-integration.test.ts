import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { manPage } from '../../src/cli/manpage.js';
import { type CommandSpec, completionScript, describeCommand } from '../../src/cli/shell.js';
import { ROOT, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';

// Completion scripts and the man page come from the commander definitions that print --help.
// Here: bash completes for real (bash is everywhere); zsh and fish complete for real in
// test/shells (npm run test:shells, run by CI where both are installed).

const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const spec = describeCommand(buildProgram(async () => {}));
const all = (s: CommandSpec): CommandSpec[] => [s, ...s.commands.flatMap(all)];

describe('the command line as data', () => {
  it('has every command, with the flags its --help lists', () => {
    const names = all(spec).map((s) => s.path.slice(1).join(' '));
    expect(names).toEqual(
      expect.arrayContaining(['normalize', 'fit', 'apply', 'inverse', 'convert', 'stats', 'stats merge', 'inspect', 'check', 'completion', 'help']),
    );
    for (const s of all(spec)) {
      if (s.path.at(-1) === 'help') continue;
      const help = tsnorm([...s.path.slice(1), '--help']).stdout.toString();
      const listed = [...help.matchAll(/^ {2}(-\w, )?(--[\w-]+)/gm)].map((m) => m[2]);
      expect(s.flags.map((f) => f.long).sort(), s.path.join(' ')).toEqual([...new Set(listed)].sort());
    }
  });

  it('keeps hidden testing flags out', () => {
    for (const s of all(spec)) expect(s.flags.map((f) => f.long)).not.toContain('--budget');
  });

  it('knows the value choices and which values are files', () => {
    const normalize = spec.commands.find((c) => c.isDefault)!;
    expect(normalize.path).toEqual(['tsnorm', 'normalize']);
    expect(normalize.flags.find((f) => f.long === '--nan')?.choices).toEqual(['propagate', 'ignore', 'error']);
    expect(normalize.flags.find((f) => f.long === '--output')).toMatchObject({ short: '-o', isFile: true, takesValue: true });
    expect(normalize.flags.find((f) => f.long === '--eps')).toMatchObject({ isFile: false, takesValue: true });
    expect(normalize.flags.find((f) => f.long === '--quiet')).toMatchObject({ takesValue: false });
    expect(spec.commands.find((c) => c.path[1] === 'completion')?.args[0]?.choices).toEqual(['bash', 'zsh', 'fish']);
  });
});

describe('tsnorm completion', () => {
  it.each(['bash', 'zsh', 'fish'] as const)('%s: the CLI prints the script generated from the definitions', (shell) => {
    const r = tsnorm(['completion', shell]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe(completionScript(shell, spec));
    for (const s of all(spec)) for (const f of s.flags) expect(r.stdout.toString()).toContain(f.long!.slice(shell === 'fish' ? 2 : 0));
  });

  it('refuses an unknown shell in one line', () => {
    const r = tsnorm(['completion', 'tcsh']);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toContain("'tcsh'");
    expect(r.stderr).toContain('bash, zsh, fish');
  });

  it('a full stdout is one line and exit 2', () => {
    const fd = fs.openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/tsnorm.js'), 'completion', 'bash'], { stdio: ['ignore', fd, 'pipe'] });
      expect(r.status).toBe(2);
      expect(isOneLineError(r.stderr.toString())).toBe(true);
      expect(r.stderr.toString()).toContain('no space left on device');
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('bash completion, in bash', () => {
  const tmp = tempDir();
  beforeAll(() => {
    fs.writeFileSync(path.join(tmp.dir, 'tsnorm.bash'), tsnorm(['completion', 'bash']).stdout);
    fs.mkdirSync(path.join(tmp.dir, 'data'));
    for (const f of ['train.npy', 'test.csv', 'stats.json']) fs.writeFileSync(path.join(tmp.dir, 'data', f), '');
  });
  afterAll(() => tmp.cleanup());

  /** The candidates bash offers for a command line ending in the word being completed. */
  function complete(line: string): string[] {
    const script = `source ../tsnorm.bash
COMP_WORDS=(${line
      .split(' ')
      .map((w) => `'${w}'`)
      .join(' ')})
COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
_tsnorm
printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { cwd: path.join(tmp.dir, 'data'), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .sort();
  }

  it.each([
    ['tsnorm ', ['apply', 'check', 'completion', 'convert', 'fit', 'help', 'inspect', 'inverse', 'normalize', 'stats', 'stats.json', 'test.csv', 'train.npy']],
    ['tsnorm f', ['fit']],
    ['tsnorm t', ['test.csv', 'train.npy']],
    ['tsnorm --e', ['--eps', '--eval']],
    ['tsnorm train.npy --e', ['--eps', '--eval']],
    ['tsnorm fit --mo', ['--momentum']],
    ['tsnorm fit train.npy --nan ', ['error', 'ignore', 'propagate']],
    ['tsnorm apply --stats st', ['stats.json']],
    ['tsnorm apply train.npy --to a', ['arrow', 'arrows']],
    ['tsnorm apply train.npy --eps ', []],
    ['tsnorm stats ', ['help', 'merge']],
    ['tsnorm stats merge --o', ['--output']],
    ['tsnorm check x --format j', ['json', 'junit']],
    ['tsnorm completion ', ['bash', 'fish', 'zsh']],
    ['tsnorm help ', ['apply', 'check', 'completion', 'convert', 'fit', 'inspect', 'inverse', 'normalize', 'stats']],
  ])('%j offers %j', (line, want) => {
    expect(complete(line)).toEqual(want);
  });
});

describe('the man page', () => {
  it('man/tsnorm.1 is what the definitions give today (npm run man rewrites it)', () => {
    expect(fs.readFileSync(path.join(ROOT, 'man/tsnorm.1'), 'utf8')).toBe(manPage(spec, VERSION));
  });

  it('documents every command, flag and example', () => {
    const page = fs.readFileSync(path.join(ROOT, 'man/tsnorm.1'), 'utf8').replace(/\\-/g, '-').replace(/\\e/g, '\\');
    for (const s of all(spec)) {
      if (s.path.length > 1) expect(page).toContain(`.SS ${s.path.slice(1).join(' ')}`);
      for (const f of s.flags) expect(page).toContain(f.term);
      for (const e of s.examples) expect(page).toContain(e);
    }
    expect(page).toContain(`"tsnorm ${VERSION}"`);
  });

  it('package.json installs it with the package', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { man: string[]; files: string[] };
    expect(pkg.man).toEqual(['./man/tsnorm.1']);
    expect(pkg.files).toContain('man/');
  });
});

describe('tsnorm help COMMAND', () => {
  it.each([['fit'], ['stats', 'merge'], ['completion']])("help %s shows that command's help", (...command: string[]) => {
    const r = tsnorm(['help', ...command]);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(new RegExp(`^Usage: tsnorm ${command.join(' ')} `));
    expect(r.stdout.toString()).toEqual(tsnorm([...command, '--help']).stdout.toString());
  });
});
