import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';
import { maxRelativeError } from '../helpers/npy.js';

// Stats files as users bring them: a model's state_dict (prefixed keys, weight and bias beside
// the running stats), and tsnorm's own files continued across runs.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const caseDir = (name: string) => path.join(FIXTURES, 'cases', name);
const json = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const writeJson = (name: string, obj: unknown): string => {
  const file = path.join(tmp.dir, name);
  fs.writeFileSync(file, JSON.stringify(obj));
  return file;
};

describe('a state_dict given as --stats', () => {
  const dir = caseDir('eval_state_dict_key');
  const input = path.join(dir, 'input.npy');
  const sd = json(path.join(dir, 'stats_in.json'));

  it('with several norm layers and no --stats-key: refused, listing them', () => {
    const r = tsnorm(['apply', input, '--stats', path.join(dir, 'stats_in.json')]);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toContain('norm1');
    expect(r.stderr).toContain('norm2');
    expect(r.stderr).toContain('--stats-key');
  });

  it('an unknown --stats-key lists the layers there are', () => {
    const r = tsnorm(['apply', input, '--stats', path.join(dir, 'stats_in.json'), '--stats-key', 'decoder']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('norm1');
  });

  it('--no-affine leaves its weight and bias out; --affine replaces them', () => {
    const plain = writeJson('plain.json', { running_mean: sd['norm2.running_mean'], running_var: sd['norm2.running_var'] });
    const run = (args: string[]) => {
      const r = tsnorm(['apply', input, '--to', 'csv', ...args]);
      expect(r.stderr).toBe('');
      return r.stdout;
    };
    const withoutAffine = run(['--stats', plain]);
    expect(run(['--stats', path.join(dir, 'stats_in.json'), '--stats-key', 'norm2', '--no-affine']).equals(withoutAffine)).toBe(true);
    const other = writeJson('other-affine.json', { weight: [2, 3, 4], bias: [1, 0, -1] });
    const withOther = run(['--stats', plain, '--affine', other]);
    expect(withOther.equals(withoutAffine)).toBe(false);
    expect(run(['--stats', path.join(dir, 'stats_in.json'), '--stats-key', 'norm2', '--affine', other]).equals(withOther)).toBe(true);
    // And by default the state_dict's own weight and bias apply: the same as naming them with --affine.
    const own = writeJson('own-affine.json', { weight: sd['norm2.weight'], bias: sd['norm2.bias'] });
    expect(run(['--stats', path.join(dir, 'stats_in.json'), '--stats-key', 'norm2']).equals(run(['--stats', plain, '--affine', own]))).toBe(true);
  });
});

describe('files that are not what they claim', () => {
  const input = path.join(FIXTURES, 'cases/basic/input.npy');

  it('a stats file of a later version, or another format', () => {
    const later = writeJson('v2.json', { format: 'tsnorm-stats', version: 2, running_mean: [0, 0, 0], running_var: [1, 1, 1] });
    const r = tsnorm(['apply', input, '--stats', later]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('this tsnorm reads version 1');
    const other = writeJson('other.json', { format: 'something-else', running_mean: [0, 0, 0], running_var: [1, 1, 1] });
    expect(tsnorm(['apply', input, '--stats', other]).stderr).toContain('expected "tsnorm-stats"');
  });

  it("an --affine file that names other channels than the input's", () => {
    const csv = path.join(FIXTURES, 'csv/long_quoted/input.csv');
    const affine = writeJson('named-affine.json', { channels: ['p', 'q', 'r'], weight: [1, 1, 1], bias: [0, 0, 0] });
    const r = tsnorm([csv, '--id', 'device', '--keep', 'ts', '--affine', affine]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('channels [p, q, r] differ from the input');
  });
});

describe('continuing a fit', () => {
  it('per-channel update counts (--nan ignore, empty series) carry over: two fits equal one', () => {
    const dir = caseDir('nan_ignore_fit_default');
    const first = path.join(tmp.dir, 'first.json');
    const second = path.join(tmp.dir, 'second.json');
    const common = ['--nan', 'ignore'];
    expect(tsnorm(['fit', path.join(dir, 'input.npy'), '--save-stats', first, ...common]).status).toBe(0);
    const saved = json(first);
    expect(saved.mean_updates).toEqual([1, 2]);
    expect(saved.num_batches_tracked).toBe(2);
    expect(tsnorm(['fit', path.join(dir, 'input2.npy'), '--stats', first, '--save-stats', second, ...common]).status).toBe(0);
    const want = json(path.join(dir, 'expected_stats.json'));
    const got = json(second);
    expect(maxRelativeError(got.running_mean, want.running_mean)).toBeLessThanOrEqual(1e-12);
    expect(maxRelativeError(got.running_var, want.running_var)).toBeLessThanOrEqual(1e-12);
    expect(got.num_batches_tracked).toBe(want.num_batches_tracked);
  });

  it('a stats file whose update counts disagree with its channels is refused', () => {
    const bad = writeJson('bad-updates.json', { running_mean: [0, 0], running_var: [1, 1], mean_updates: [1, 2, 3] });
    const r = tsnorm(['apply', path.join(caseDir('nan_ignore_running'), 'input.npy'), '--stats', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('mean_updates');
  });
});
