import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const bad = path.join(FIXTURES, 'bad');
const expected: Record<string, string> = JSON.parse(fs.readFileSync(path.join(bad, 'expected-errors.json'), 'utf8'));
const basic = path.join(FIXTURES, 'cases/basic/input.npy');

/** A failed run: exit 2, one line naming `name`, nothing left in `dir`. */
function expectFailure(r: ReturnType<typeof tsnorm>, mention: string, dir?: string): void {
  expect(r.status).toBe(2);
  expect(isOneLineError(r.stderr)).toBe(true);
  expect(r.stderr).toContain(mention);
  if (dir) expect(fs.readdirSync(dir)).toEqual([]);
}

describe('malformed NPY files', () => {
  it.each(Object.entries(expected))('%s: %s', (file, message) => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'bad-'));
    const r = tsnorm(['normalize', path.join(bad, file), '-o', path.join(dir, 'out.npy')]);
    expectFailure(r, message, dir);
    expect(r.stderr).toContain(file);
  });

  it.each(['truncated.npy', 'oversized.npy', 'bad_magic.npy', 'complex.npy'])('%s from a pipe', (file) => {
    const r = tsnorm(['normalize', '-', '--from', 'npy'], { input: fs.readFileSync(path.join(bad, file)) });
    expectFailure(r, expected[file]!);
    expect(r.stderr).toContain('<stdin>');
  });
});

describe('an error while the next group is being read', () => {
  it('stops with one line, even when the read ahead fails too', () => {
    // A NaN in the first group (--nan error) and a pipe that ends early: the prefetch of a later
    // group fails after the run has stopped, and must not surface as a crash.
    // nan_propagates is (4, 3, 50) float32 with a NaN in instance 1; a budget of 150 values reads one
    // instance per group, so the group read ahead while instance 1 fails is instance 2, cut short here.
    const bytes = Buffer.from(fs.readFileSync(path.join(FIXTURES, 'cases/nan_propagates/input.npy')));
    const instanceBytes = 3 * 50 * 4;
    const cut = bytes.length - 2 * instanceBytes + 10;
    const r = tsnorm(['normalize', '-', '--nan', 'error', '--budget', '150'], { input: bytes.subarray(0, cut) });
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toContain('missing value at byte');
  });
});

describe('files and paths', () => {
  it('a missing input', () => {
    expectFailure(tsnorm(['normalize', path.join(tmp.dir, 'nope.npy')]), 'nope.npy: no such file');
  });

  it('a folder as input with no file tsnorm reads', () => {
    const empty = fs.mkdtempSync(path.join(tmp.dir, 'empty-'));
    expectFailure(tsnorm(['normalize', empty]), `${empty}: a folder with no file tsnorm reads`);
  });

  it('an output in a directory that does not exist', () => {
    const out = path.join(tmp.dir, 'missing-dir', 'out.npy');
    expectFailure(tsnorm(['normalize', basic, '-o', out]), out);
  });

  it('an output that is a directory', () => {
    expectFailure(tsnorm(['normalize', basic, '-o', tmp.dir]), `-o ${tmp.dir} is a folder, and the input is one file: name the output file`);
  });

  it('-o equal to the input: untouched when the run fails, replaced when it succeeds', () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'same-'));
    const file = path.join(dir, 'data.npy');
    fs.copyFileSync(basic, file);
    const before = fs.readFileSync(file);
    expectFailure(tsnorm(['normalize', file, '-o', file, '--affine', path.join(FIXTURES, 'cases/affine_length_mismatch/affine.json')]), 'weight');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['data.npy']);
    const other = path.join(dir, 'other.npy');
    expect(tsnorm(['normalize', basic, '-o', other]).status).toBe(0);
    expect(tsnorm(['normalize', file, '-o', file]).status).toBe(0);
    expect(fs.readFileSync(file).equals(fs.readFileSync(other))).toBe(true);
  });
});

describe('flags', () => {
  const stats = path.join(FIXTURES, 'cases/eval_running_stats/stats_in.json');
  it.each([
    [['--eps', '0'], '--eps'],
    [['--eps', 'abc'], '--eps'],
    [['--momentum', '2'], '--momentum'],
    [['--momentum', '-0.1'], '--momentum'],
    [['--track-running-stats', '--batch-size', '0'], '--batch-size'],
    [['--track-running-stats', '--batch-size', '1.5'], '--batch-size'],
    [['--dtype', 'float16'], 'float16'],
    [['--from', 'xml'], 'xml'],
    [['--bogus'], '--bogus'],
    [['--eval', '--track-running-stats'], '--stats'],
    [['--batch-size', '2'], '--track-running-stats'],
  ])('normalize %j', (flags, mention) => {
    expectFailure(tsnorm(['normalize', basic, '-o', path.join(tmp.dir, 'x.npy'), ...flags]), mention);
    expect(fs.existsSync(path.join(tmp.dir, 'x.npy'))).toBe(false);
  });

  it('fit without --save-stats', () => {
    expectFailure(tsnorm(['fit', basic]), '--save-stats');
  });

  it('apply without --stats', () => {
    expectFailure(tsnorm(['apply', basic]), '--stats');
  });

  it('a stats file that is not JSON, and one that is missing', () => {
    const notJson = path.join(tmp.dir, 'bad.json');
    fs.writeFileSync(notJson, '{"running_mean": [1, 2');
    expectFailure(tsnorm(['apply', basic, '--stats', notJson]), 'not valid JSON');
    expectFailure(tsnorm(['apply', basic, '--stats', path.join(tmp.dir, 'missing.json')]), 'missing.json: no such file');
  });

  it('a stats file for other channels', () => {
    expectFailure(tsnorm(['apply', path.join(FIXTURES, 'cases/uint8/input.npy'), '--stats', stats]), 'running_mean');
  });
});
