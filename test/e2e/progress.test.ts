import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, tempDir, tsnorm } from '../helpers/cli.js';

// The progress bar: drawn on stderr when it is a terminal (a pseudo-terminal from `script` here),
// never otherwise, never with --quiet, never over data written to the same terminal.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const file = (name: string) => path.join(tmp.dir, name);
const node = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`;
const q = (s: string) => JSON.stringify(s);

/** Runs a shell command with a pseudo-terminal for stdin, stdout and stderr; returns what the terminal showed. */
function inTerminal(command: string): { screen: string; text: string } {
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  // What a person would read: escape sequences out, each carriage return a fresh line.
  // (cursor-to-column-1, ESC [ 1 G, starts a line again as a carriage return does).
  const text = r.stdout
    .replace(/\x1b\[\d*G/g, '\r')
    .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '')
    .split(/\r\n|\r|\n/)
    .filter((l) => l.trim() !== '')
    .join('\n');
  return { screen: r.stdout, text };
}

const big = file('big.csv');
const bigger = file('bigger.csv');
const broken = file('broken.csv');
const small = file('small.csv');
const stats = file('stats.json');

beforeAll(() => {
  // ~24 MB of long-layout CSV: long enough to read and write (half a second or more) that a bar
  // gets drawn. Commands that only read (check, inspect, an error at the end) get three times as
  // much: they read ~100 MB a second.
  const rows: string[] = ['id,t,a,b,c'];
  for (let i = 0; i < 1_800_000; i++)
    rows.push(`d${Math.floor(i / 10_000)},${i % 10_000},${(i % 97) * 0.37 + 1.5},${(i % 89) * -1.25},${1000 + (i % 13) * 0.001}`);
  fs.writeFileSync(big, rows.slice(0, 600_001).join('\n') + '\n');
  fs.writeFileSync(bigger, rows.join('\n') + '\n');
  fs.writeFileSync(broken, rows.join('\n') + '\nd179,10000,1,2,oops\n');
  fs.writeFileSync(small, rows.slice(0, 1000).join('\n') + '\n');
  expect(tsnorm(['fit', small, '--id', 'id', '--keep', 't', '--save-stats', stats]).status).toBe(0);
}, 60_000);

const bar = /\[[=-]{20}\] \d{1,3}% [\d.]+ [kMG]?B\/[\d.]+ [kMG]?B [\d.]+ [kMG]?B\/s ETA \d/;

describe('progress on a terminal', () => {
  it('a bar with bytes, rate and ETA while a big file is read; the output is the same as without', () => {
    const out = file('with-bar.csv');
    const { text, screen } = inTerminal(`${node} normalize ${q(big)} --id id --keep t -o ${q(out)}; echo "exit=$?"`);
    expect(text).toMatch(bar);
    expect(text).toContain('big.csv [');
    expect(text.split('\n').at(-1)).toBe('exit=0');
    // Cleared at the end: the bar's line is erased before the shell's next output.
    expect(screen).toMatch(/\x1b\[2K[\s\S]*exit=0/);
    const plain = file('no-bar.csv');
    expect(tsnorm(['normalize', big, '--id', 'id', '--keep', 't', '-o', plain]).status).toBe(0);
    expect(fs.readFileSync(out).equals(fs.readFileSync(plain))).toBe(true);
  });

  it('from a pipe (size unknown): bytes read and the rate', () => {
    const out = file('piped.csv');
    const { text } = inTerminal(`cat ${q(bigger)} | ${node} apply --stats ${q(stats)} --from csv --id id --keep t -o ${q(out)}; echo "exit=$?"`);
    expect(text).toMatch(/<stdin> [\d.]+ [kMG]?B read, [\d.]+ [kMG]?B\/s/);
    expect(text.split('\n').at(-1)).toBe('exit=0');
  });

  it('for check and inspect too, cleared before their report', () => {
    const { text } = inTerminal(`${node} check ${q(bigger)} --stats ${q(stats)} --id id --keep t --max-z 1e9 --max-std-ratio 1e9; echo "exit=$?"`);
    expect(text).toMatch(bar);
    expect(text.split('\n').slice(-2)).toEqual(['ok: 180 instances in 1 file, no problem', 'exit=0']);
    expect(inTerminal(`${node} inspect ${q(bigger)} --id id --keep t`).text).toMatch(bar);
  });

  it('an error midway: the bar is cleared and the error is a line of its own', () => {
    const { text } = inTerminal(`${node} normalize ${q(broken)} --id id --keep t -o ${q(file('never.csv'))}; echo "exit=$?"`);
    expect(text).toMatch(bar);
    const lines = text.split('\n');
    expect(lines.at(-1)).toBe('exit=2');
    expect(lines.at(-2)).toBe(
      `tsnorm: ${broken}: line 1800002, column 'c': 'oops' is not a number (a channel column; pass it through with --keep, or choose --channels)`,
    );
    expect(fs.existsSync(file('never.csv'))).toBe(false);
  });

  it('Ctrl-C midway: the bar is cleared, the signal ends the run, no output is left', () => {
    const out = file('interrupted.csv');
    // The input stays open (a pipe that pauses), so the run is still going when Ctrl-C comes.
    const { screen, text } = inTerminal(
      `(cat ${q(big)}; sleep 3) | timeout -s INT 1.5 ${node} normalize --from csv --id id --keep t -o ${q(out)}; echo "exit=$?"`,
    );
    expect(text).toMatch(/<stdin> [\d.]+ [kMG]?B read, /);
    expect(text.split('\n').at(-1)).toBe('exit=124'); // timeout's code: the run was still going
    expect(screen).toMatch(/\x1b\[2K[\s\S]*exit=124/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.startsWith('.tsnorm-'))).toEqual([]);
  });

  it('nothing with --quiet, for a small file, or when the data goes to the terminal', () => {
    expect(inTerminal(`${node} normalize ${q(big)} --id id --keep t -o ${q(file('quiet.csv'))} --quiet`).text).not.toMatch(/ETA|%/);
    expect(inTerminal(`${node} normalize ${q(small)} --id id --keep t -o ${q(file('small.out.csv'))}`).text).not.toMatch(/ETA|%/);
    const toScreen = inTerminal(`${node} apply ${q(big)} --stats ${q(stats)} --id id --keep t; echo "exit=$?"`);
    expect(toScreen.text.split('\n').at(-1)).toBe('exit=0');
    expect(toScreen.text).not.toMatch(/ETA|%/);
  });
});

describe('no terminal', () => {
  it('stderr empty when it is a pipe or a file, whatever the size', () => {
    const r = tsnorm(['normalize', big, '--id', 'id', '--keep', 't', '-o', file('piped-stderr.csv')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});
