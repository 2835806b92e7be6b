import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, tsnorm } from '../helpers/cli.js';

// `npm run test:shells` (CI installs zsh and fish): `tsnorm completion zsh|fish` loaded into the
// real shells, asked for candidates as a user pressing Tab would be.

const tmp = tempDir();
const data = path.join(tmp.dir, 'data');
beforeAll(() => {
  for (const shell of ['zsh', 'fish']) fs.writeFileSync(path.join(tmp.dir, `tsnorm.${shell}`), tsnorm(['completion', shell]).stdout);
  fs.mkdirSync(data);
  for (const f of ['train.npy', 'test.csv', 'stats.json']) fs.writeFileSync(path.join(data, f), '');
});
afterAll(() => tmp.cleanup());

const COMMANDS = ['apply', 'check', 'completion', 'convert', 'fit', 'help', 'inspect', 'inverse', 'normalize', 'stats'];
const FILES = ['stats.json', 'test.csv', 'train.npy'];
const CASES: [string, string[]][] = [
  ['tsnorm ', [...COMMANDS, ...FILES]],
  ['tsnorm f', ['fit']],
  ['tsnorm t', ['test.csv', 'train.npy']],
  ['tsnorm train.npy --e', ['--eps', '--eval']],
  ['tsnorm fit --mo', ['--momentum']],
  ['tsnorm fit train.npy --nan ', ['error', 'ignore', 'propagate']],
  ['tsnorm apply --stats st', ['stats.json']],
  ['tsnorm apply train.npy --to a', ['arrow', 'arrows']],
  ['tsnorm stats ', ['help', 'merge']],
  ['tsnorm stats merge --o', ['--output']],
  ['tsnorm check x --format j', ['json', 'junit']],
  ['tsnorm completion ', ['bash', 'fish', 'zsh']],
  ['tsnorm help ', COMMANDS.filter((c) => c !== 'help')],
];

function lines(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.split('\t')[0]!.replace(/\/$/, ''))
    .filter((l) => l !== '')
    .sort();
}

describe('zsh', () => {
  it('has zsh', () => {
    expect(spawnSync('zsh', ['--version']).status, 'zsh is needed: apt-get install -y zsh').toBe(0);
  });
  it.each(CASES)('%j offers %j', (line, want) => {
    const r = spawnSync('zsh', ['-f', path.join(import.meta.dirname, 'zsh-candidates.zsh'), path.join(tmp.dir, 'tsnorm.zsh'), line], {
      cwd: data,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(lines(r.stdout)).toEqual(want);
  });
});

describe('fish', () => {
  it('has fish', () => {
    expect(spawnSync('fish', ['--version']).status, 'fish is needed: apt-get install -y fish').toBe(0);
  });
  it.each(CASES)('%j offers %j', (line, want) => {
    const r = spawnSync('fish', ['--no-config', '-c', `source ${path.join(tmp.dir, 'tsnorm.fish')}; complete -C ${JSON.stringify(line)}`], {
      cwd: data,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual(want);
  });
});
