import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseArgs, loadCases, tolerance } from '../helpers/cases.js';
import { isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';
import { maxRelativeError, readNpy } from '../helpers/npy.js';

const cases = loadCases();
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Values of a long-layout CSV written by tsnorm (columns id,t,c0,... or t,c0,...), in (N, C, L) C order. */
function readLongCsv(file: string, shape: number[]): Float64Array {
  const [n, c, l] = shape.length === 3 ? shape : [1, shape[0]!, shape[1]!];
  const rows = fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(1).map((r) => r.split(','));
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
