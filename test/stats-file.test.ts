import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsnormError } from '../src/errors.js';
import { type LoadParamsOptions, checkEps, checkMomentum } from '../src/core/state-dict.js';
import { MAX_PARAMS_FILE_BYTES, loadParams } from '../src/stats-file.js';
import { tempDir } from './helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

let files = 0;
/** A stats file holding `text` (an object is written as JSON). */
function statsFile(content: unknown): string {
  const file = path.join(tmp.dir, `stats-${files++}.json`);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** The one-line TsnormError that loading `file` ends in. */
function refusal(file: string, options?: LoadParamsOptions): string {
  try {
    loadParams(file, options);
  } catch (err) {
    expect(err).toBeInstanceOf(TsnormError);
    const message = (err as Error).message;
    expect(message.startsWith(`${file}: `)).toBe(true);
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`loadParams accepted ${file}`);
}

const stats3 = { running_mean: [0.5, -1, 2], running_var: [1, 2, 0.25] };

describe('stats files: what kind of file', () => {
  it('refuses a directory', () => {
    expect(refusal(tmp.dir)).toContain('is a directory, expected a JSON file');
  });

  it('refuses a file over the size cap before reading it', () => {
    const file = path.join(tmp.dir, 'huge.json');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, MAX_PARAMS_FILE_BYTES + 1); // sparse: no disk used
    expect(refusal(file)).toContain(`${MAX_PARAMS_FILE_BYTES + 1} bytes is too large for a stats or affine file (at most 64 MiB)`);
  });

  it('reads a file exactly at the cap', () => {
    const text = JSON.stringify(stats3);
    const file = statsFile(text + ' '.repeat(MAX_PARAMS_FILE_BYTES - text.length));
    expect(loadParams(file).runningMean).toEqual(stats3.running_mean);
  });

  it('reads a file that starts with a UTF-8 byte order mark as the same file without it', () => {
    const file = statsFile(`\uFEFF${JSON.stringify(stats3)}`);
    expect(fs.readFileSync(file).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const plain = statsFile(stats3);
    expect({ ...loadParams(file), file: plain }).toEqual(loadParams(plain));
  });

  it('words a JSON syntax error itself, with its line and column, the same on every Node', () => {
    const file = statsFile('{\n  "running_mean": [0.5, -1, 2],\n  "running_var": [1, 2, 0.25],\n}\n');
    expect(refusal(file)).toBe(`${file}: not valid JSON: line 4, column 1: expected a property name in double quotes, found '}'`);
    const bomAndNan = statsFile('\uFEFF{"running_mean": [NaN]}');
    expect(refusal(bomAndNan)).toBe(`${bomAndNan}: not valid JSON: line 1, column 19: expected a value, found 'N'`);
    const blank = statsFile(' \n');
    expect(refusal(blank)).toBe(`${blank}: not valid JSON: the file holds no JSON value`);
  });

  it('still names a missing file', () => {
    expect(refusal(path.join(tmp.dir, 'missing.json'))).toContain('missing.json: no such file');
  });
});

describe('stats files: numbers', () => {
  it.each([
    [{ ...stats3, running_mean: [0, 1e400, 2] }, '"running_mean"[1] is out of float64\'s range'],
    [{ ...stats3, running_var: [1, 2, 1e999] }, '"running_var"[2] is out of float64\'s range'],
    [{ ...stats3, weight: [-1e400, 1, 1], bias: [0, 0, 0] }, '"weight"[0] is out of float64\'s range'],
  ])('says which key and index is out of range: %j', (content, message) => {
    // JSON.stringify(content) would write null for the Infinity: write the text as a user's file holds it.
    const text = JSON.stringify(content).replace('null', '1e400');
    expect(refusal(statsFile(text))).toContain(message);
  });

  it('says eps and momentum are out of range, rather than "null"', () => {
    expect(refusal(statsFile('{"running_mean": [0], "running_var": [1], "eps": 1e400}'))).toContain(
      '"eps": expected a positive number, got a number out of float64\'s range',
    );
    expect(refusal(statsFile('{"running_mean": [0], "running_var": [1], "momentum": -1e400}'))).toContain(
      '"momentum": expected a number in [0, 1] or "cumulative", got a number out of float64\'s range',
    );
  });

  it('describes a deeply nested value without overflowing the stack', () => {
    const text = `{"running_mean": [0, ${'['.repeat(200_000)}${']'.repeat(200_000)}], "running_var": [1, 1]}`;
    expect(refusal(statsFile(text))).toContain('"running_mean"[1] is an array, expected a finite number');
  });

  it('shows a long string shortened', () => {
    const message = refusal(statsFile({ running_mean: ['x'.repeat(10_000)], running_var: [1] }));
    expect(message).toContain('"running_mean"[0] is "xxxxxxxxxx');
    expect(message.length).toBeLessThan(300);
  });
});

describe('stats files: sizes that must agree', () => {
  it.each([
    [{ ...stats3, num_features: 2 }, '"num_features" is 2 but "running_mean" has 3 values'],
    [{ num_features: 3, running_mean: [0, 1], running_var: [1, 1] }, '"num_features" is 3 but "running_mean" has 2 values'],
    [{ ...stats3, channels: ['a', 'b'] }, '"channels" has 2 names but "running_mean" has 3 values'],
    [{ running_mean: [0, 1], running_var: [1, 1], channels: ['a', 'b', 'c'] }, '"channels" has 3 names but "running_mean" has 2 values'],
    [{ running_mean: [0, 1, 2], running_var: [1, 1] }, '"running_mean" has 3 values but "running_var" has 2'],
    [{ ...stats3, weight: [1, 1, 1], bias: [0, 0] }, '"running_mean" has 3 values but "bias" has 2'],
    [{ weight: [1, 1], bias: [0, 0, 0] }, '"weight" has 2 values but "bias" has 3'],
    [{ ...stats3, num_features: 2.5 }, '"num_features" must be a whole number >= 0, got 2.5'],
    [{ num_features: 2, channels: ['a'] }, '"num_features" is 2 but "channels" has 1 name'],
  ])('refuses %j', (content, message) => {
    expect(refusal(statsFile(content))).toContain(message);
  });

  it('accepts a tsnorm stats file whose sizes agree', () => {
    const p = loadParams(
      statsFile({
        format: 'tsnorm-stats',
        version: 1,
        num_features: 3,
        channels: ['a', 'b', 'c'],
        eps: 1e-5,
        momentum: 0.1,
        ...stats3,
        num_batches_tracked: 4,
      }),
    );
    expect(p).toMatchObject({
      runningMean: stats3.running_mean,
      runningVar: stats3.running_var,
      channels: ['a', 'b', 'c'],
      numBatchesTracked: 4,
      eps: 1e-5,
      momentum: 0.1,
    });
  });
});

describe('stats files: a torch state_dict with prefixed keys', () => {
  const norm = { 'norm.running_mean': [1, 2], 'norm.running_var': [3, 4], 'norm.weight': [5, 6], 'norm.bias': [7, 8], 'norm.num_batches_tracked': 9 };
  const conv = { 'conv.weight': [[[0.1, 0.2]], [[0.3, 0.4]]], 'conv.bias': [0.5, 0.6] };

  it('finds the one prefix that holds running_mean', () => {
    const p = loadParams(statsFile({ ...conv, ...norm }));
    expect(p).toMatchObject({ prefix: 'norm.', runningMean: [1, 2], runningVar: [3, 4], weight: [5, 6], bias: [7, 8], numBatchesTracked: 9, hasAffine: true });
  });

  it('for --affine, prefers the one prefix with weight and bias that also holds running_mean', () => {
    const p = loadParams(statsFile({ ...conv, ...norm }), { purpose: 'affine' });
    expect(p).toMatchObject({ prefix: 'norm.', weight: [5, 6], bias: [7, 8] });
  });

  it('for --affine, takes the only prefix with weight and bias', () => {
    const p = loadParams(statsFile({ 'encoder.norm.weight': [5, 6], 'encoder.norm.bias': [7, 8], 'encoder.conv.weight': [[[1]]] }), { purpose: 'affine' });
    expect(p).toMatchObject({ prefix: 'encoder.norm.', weight: [5, 6], bias: [7, 8], hasAffine: true });
  });

  it('refuses to guess between several prefixes, and lists them', () => {
    const two = { ...norm, 'norm2.running_mean': [0, 0], 'norm2.running_var': [1, 1] };
    expect(refusal(statsFile(two))).toContain('"running_mean" under several prefixes (norm, norm2): pick one with --stats-key');
    const affine = { ...conv, 'norm.weight': [5, 6], 'norm.bias': [7, 8] };
    expect(refusal(statsFile(affine), { purpose: 'affine' })).toContain('"weight" and "bias" under several prefixes (conv, norm): pick one with --stats-key');
  });

  it.each(['norm2', 'norm2.'])('takes a prefix given as %j', (key) => {
    const two = { ...norm, 'norm2.running_mean': [0, 0], 'norm2.running_var': [1, 1] };
    expect(loadParams(statsFile(two), { key })).toMatchObject({ prefix: 'norm2.', runningMean: [0, 0], runningVar: [1, 1], hasAffine: false });
  });

  it('refuses an unknown prefix, listing the ones there are', () => {
    expect(refusal(statsFile({ ...conv, ...norm }), { key: 'decoder' })).toContain(
      'no keys under prefix "decoder." (--stats-key "decoder"); prefixes in the file: conv, norm',
    );
    expect(refusal(statsFile({ eps: 1e-5 }), { key: 'norm' })).toContain(
      'it has no running_mean, running_var, num_batches_tracked, weight, bias under any prefix',
    );
  });

  it('a key given for a file that has only top-level keys reads it as it is (a plain file beside a state_dict)', () => {
    expect(loadParams(statsFile(stats3), { key: 'norm.' })).toMatchObject({ prefix: '', runningMean: stats3.running_mean });
  });

  it('an empty key means the top-level keys', () => {
    expect(loadParams(statsFile({ ...stats3, 'norm.running_mean': [9, 9, 9], 'norm.running_var': [1, 1, 1] }), { key: '' })).toMatchObject({
      prefix: '',
      runningMean: stats3.running_mean,
    });
  });

  it('names the full key in errors', () => {
    expect(refusal(statsFile({ ...norm, 'norm.running_var': [3, -4] }))).toContain('"norm.running_var"[1] is -4, variances must be >= 0');
  });

  it.each([
    [9, 9],
    [[9], 9],
    [0, 0],
  ])('reads num_batches_tracked %j', (value, count) => {
    expect(loadParams(statsFile({ ...norm, 'norm.num_batches_tracked': value })).numBatchesTracked).toBe(count);
  });

  it.each([[[1, 2]], [-1], [1.5], [[]], ['7']])('refuses num_batches_tracked %j', (value) => {
    expect(refusal(statsFile({ ...norm, 'norm.num_batches_tracked': value }))).toContain('"norm.num_batches_tracked" must be a whole number >= 0');
  });

  it('keeps reading unprefixed keys as before', () => {
    expect(loadParams(statsFile({ ...stats3, num_batches_tracked: 2 }))).toMatchObject({ prefix: '', runningMean: stats3.running_mean, numBatchesTracked: 2 });
  });
});

describe('stats files: weight and bias', () => {
  it('says whether they were present', () => {
    expect(loadParams(statsFile(stats3)).hasAffine).toBe(false);
    const p = loadParams(statsFile({ ...stats3, weight: [1, 2, 3], bias: [4, 5, 6] }));
    expect(p).toMatchObject({ hasAffine: true, weight: [1, 2, 3], bias: [4, 5, 6] });
  });

  it.each([
    [{ ...stats3, weight: [1, 2, 3] }, 'has "weight" but no "bias": an affine transform needs both'],
    [{ ...stats3, bias: [1, 2, 3] }, 'has "bias" but no "weight": an affine transform needs both'],
    [{ 'norm.running_mean': [0], 'norm.running_var': [1], 'norm.bias': [1] }, 'has "norm.bias" but no "norm.weight"'],
  ])('refuses only one of them: %j', (content, message) => {
    expect(refusal(statsFile(content))).toContain(message);
  });
});

describe('eps and momentum: plain decimal numbers only', () => {
  it.each(['1e-5', '.5', '0.1', '1', '+2', '5.', '1E-3', '2.5e+1'])('accepts eps %s', (text) => {
    expect(checkEps(text, '--eps')).toBe(Number(text));
  });

  it.each(['0x10', '0b1', '0o7', ' 0.1', '0.1 ', '\t1', 'Infinity', '-Infinity', '1e400', '1_000', '', '1e', 'e5', '.', '+', '--1', '0', '-1'])(
    'refuses eps %j',
    (text) => {
      expect(() => checkEps(text, '--eps')).toThrow(`--eps: expected a positive number, got ${JSON.stringify(text)}`);
    },
  );

  it.each(['0', '1', '0.1', '.25', '1e-1', '-0'])('accepts momentum %s', (text) => {
    expect(checkMomentum(text, '--momentum')).toBe(Number(text));
  });

  it.each(['0x1', '0b1', ' 0.5', 'Infinity', '1.5', '-0.1', 'NaN'])('refuses momentum %j', (text) => {
    expect(() => checkMomentum(text, '--momentum')).toThrow(`--momentum: expected a number in [0, 1] or "cumulative", got ${JSON.stringify(text)}`);
  });

  it('keeps "cumulative", and null momentum in a file', () => {
    expect(checkMomentum('cumulative', '--momentum')).toBe('cumulative');
    expect(loadParams(statsFile({ ...stats3, momentum: null })).momentum).toBe('cumulative');
  });

  it('refuses hex in a file too', () => {
    expect(refusal(statsFile({ ...stats3, eps: '0x10' }))).toContain('"eps": expected a positive number, got "0x10"');
  });
});
