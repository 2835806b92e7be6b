import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseArgs, loadCases, tolerance } from '../helpers/cases.js';
import { isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';
import { maxRelativeError, readNpy } from '../helpers/npy.js';

const cases = loadCases();
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/**
 * For each case that must fail (`expect_error` in its case.json): the file its message must start
 * with (the input, the --affine file or the --stats file) and phrases it must contain, which say
 * what is wrong in that case, checked by hand against the fixtures: affine_length_mismatch holds
 * 4 weights for data of shape (2, 3, 10); affine_nonfinite has null as weight[0];
 * stats_length_mismatch has 2 running means for 3 channels; stats_negative_var has -0.5 as
 * running_var[1]; the train_length_one cases have L = 1, which torch refuses in training.
 */
const EXPECTED_ERRORS: Record<string, { names: 'input' | 'affine' | 'stats'; says: string[] }> = {
  affine_length_mismatch: { names: 'affine', says: ['"weight" has 4 values', 'the data has 3 channels'] },
  affine_nonfinite: { names: 'affine', says: ['"weight"[0] is null', 'finite'] },
  stats_length_mismatch: { names: 'stats', says: ['"running_mean" has 2 values', 'the data has 3 channels'] },
  stats_negative_var: { names: 'stats', says: ['"running_var"[1] is -0.5', 'must be >= 0'] },
  train_length_one_error: { names: 'input', says: ['1 time step', 'more than one time step'] },
  train_length_one_no_stats: { names: 'input', says: ['1 time step', 'more than one time step'] },
};

describe('fixture error cases', () => {
  it('each has the message it must give', () => {
    expect(Object.keys(EXPECTED_ERRORS).sort()).toEqual(
      cases
        .filter((c) => c.expect_error)
        .map((c) => c.name)
        .sort(),
    );
  });
});

/** Values of a long-layout CSV written by tsnorm (columns id,t,c0,... or t,c0,...), in (N, C, L) C order. */
function readLongCsv(file: string, shape: number[]): Float64Array {
  const [n, c, l] = shape.length === 3 ? shape : [1, shape[0]!, shape[1]!];
  const rows = fs
    .readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((r) => r.split(','));
  expect(rows.length).toBe(n! * l!);
  const lead = shape.length === 3 ? 2 : 1;
  const out = new Float64Array(n! * c! * l!);
  rows.forEach((cells, i) => {
    const inst = Math.floor(i / l!);
    const t = i % l!;
    for (let ch = 0; ch < c!; ch++) out[(inst * c! + ch) * l! + t] = cells[lead + ch] === '' ? NaN : Number(cells[lead + ch]);
  });
  return out;
}

describe.each(['npy', 'csv'])('fixture cases through the CLI, as %s', (format) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const work = fs.mkdtempSync(path.join(tmp.dir, `${c.name}-${format}-`));
    const asFormat = (file: string): string => {
      if (format === 'npy') return path.join(c.dir, file);
      const csv = path.join(work, file.replace(/\.npy$/, '.csv'));
      const r = tsnorm(['convert', path.join(c.dir, file), '-o', csv]);
      expect(r.stderr).toBe('');
      return csv;
    };
    const output = path.join(work, `out.${format}`);
    const statsOut = path.join(work, 'stats.json');
    const args = caseArgs(c, asFormat(c.input), (c.extra_inputs ?? []).map(asFormat), output, statsOut);
    if (format === 'csv') args.push(...(c.shape.length === 3 ? ['--id', 'id', '--keep', 't'] : ['--keep', 't']));
    const r = tsnorm(args);
    if (c.expect_error) {
      expect(r.status).toBe(2);
      expect(isOneLineError(r.stderr)).toBe(true);
      const want = EXPECTED_ERRORS[c.name];
      expect(want, `no expected message for error case ${c.name}`).toBeDefined();
      // The message starts with the file at fault: the input as given on the command line, or the parameter file.
      const atFault = want!.names === 'input' ? args[1]! : path.join(c.dir, want!.names === 'affine' ? c.affine! : c.stats_in!);
      expect(r.stderr.startsWith(`tsnorm: ${atFault}: `), `${r.stderr.trim()} should start with tsnorm: ${atFault}: `).toBe(true);
      for (const phrase of want!.says) expect(r.stderr).toContain(phrase);
      expect(fs.existsSync(output)).toBe(false);
      expect(fs.readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      return;
    }
    // A note (series blanked by missing values) may precede; nothing else.
    expect(r.stderr.replace(/^tsnorm: note: .*\n/gm, '')).toBe('');
    expect(r.status).toBe(0);
    if (c.expected) {
      const want = await readNpy(path.join(c.dir, c.expected));
      if (format === 'npy') {
        const got = await readNpy(output);
        expect(got.dtype).toBe(c.output_dtype);
        expect(got.shape).toEqual(want.shape);
        expect(maxRelativeError(got.data, want.data)).toBeLessThanOrEqual(tolerance(c, got.dtype));
      } else {
        expect(maxRelativeError(readLongCsv(output, c.shape), want.data)).toBeLessThanOrEqual(tolerance(c, '<f8'));
      }
    }
    if (c.expected_stats) {
      const want = JSON.parse(fs.readFileSync(path.join(c.dir, c.expected_stats), 'utf8'));
      const got = JSON.parse(fs.readFileSync(statsOut, 'utf8'));
      expect(maxRelativeError(got.running_mean, want.running_mean)).toBeLessThanOrEqual(1e-9);
      expect(maxRelativeError(got.running_var, want.running_var)).toBeLessThanOrEqual(1e-9);
      expect(got.num_batches_tracked).toBe(want.num_batches_tracked);
      expect(got).toMatchObject({ format: 'tsnorm-stats', version: 1, num_features: c.shape[c.shape.length - 2], eps: c.eps, momentum: c.momentum });
      if (format === 'csv') expect(got.channels).toEqual(Array.from({ length: got.num_features }, (_, i) => `c${i}`));
    }
  });
});
