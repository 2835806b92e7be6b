// Distribution drift from the stats file alone: `fit` stores a sketch of each channel's values,
// `check` sketches the incoming file the same way and scores it. The expected scores are scipy's
// and numpy's on the raw values (fixtures/generate_drift.py); tsnorm's come from buckets 0.2% wide,
// so they agree within what that quantization moves a score.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir, tsnorm } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const at = (name: string): string => path.join(tmp.dir, name);
const DRIFT = path.join(FIXTURES, 'drift');
const expected: Record<string, { reference: string; values: number; ks: number; psi: number; wasserstein: number }> = JSON.parse(
  fs.readFileSync(path.join(DRIFT, 'expected.json'), 'utf8'),
);

function fitted(reference: string): string {
  const stats = at(`${reference}.json`);
  if (!fs.existsSync(stats)) expect(tsnorm(['fit', path.join(DRIFT, reference), '--save-stats', stats]).status).toBe(0);
  return stats;
}

function checked(name: string, extra: string[] = []) {
  const r = tsnorm(['check', path.join(DRIFT, `${name}.npy`), '--stats', fitted(expected[name]!.reference), '--format', 'json', ...extra]);
  return { status: r.status, stderr: r.stderr, report: JSON.parse(r.stdout.toString()) };
}

describe('distribution scores against the reference, as scipy computes them on the values', () => {
  for (const [name, want] of Object.entries(expected)) {
    it(`${name}: KS, PSI and Wasserstein`, () => {
      const { report } = checked(name);
      const c = report.files[0].channels[0];
      expect(c.values).toBe(want.values);
      // KS and PSI move by at most the mass of a bucket or two; Wasserstein by the bucket width (0.2% of a value).
      expect(Math.abs(c.ks - want.ks)).toBeLessThanOrEqual(0.005);
      expect(Math.abs(c.psi - want.psi)).toBeLessThanOrEqual(0.01);
      expect(Math.abs(c.wasserstein - want.wasserstein)).toBeLessThanOrEqual(0.01 * want.wasserstein + 0.002);
    });
  }

  it('a problem for each limit broken, with its score and limit; none for data like the reference', () => {
    expect(checked('same').status).toBe(0);
    const { status, report } = checked('shift');
    expect(status).toBe(1);
    const c = report.files[0].channels[0];
    expect(report.problems.map((p: Record<string, unknown>) => [p.kind, p.channel, p.score, p.limit, p.count, p.instance])).toEqual([
      ['drift-ks', 'c0', c.ks, 0.1, 2000, null],
      ['drift-psi', 'c0', c.psi, 0.1, 2000, null],
      ['drift-wasserstein', 'c0', c.wasserstein, 0.1, 2000, null],
    ]);
    // The flags move the limits.
    expect(checked('shift', ['--max-ks', '0.2', '--max-psi', '0.2', '--max-wasserstein', '0.5']).status).toBe(0);
  });

  it('fewer values than --min-values: scored, not judged', () => {
    const { status, report } = checked('few');
    expect(status).toBe(0);
    expect(report.files[0].channels[0].ks).toBeGreaterThan(0.2);
    expect(checked('few', ['--min-values', '100']).report.counts['drift-ks']).toBe(1);
  });

  it('a stats file without a sketch: the distribution checks are skipped, with a note', () => {
    const old = at('old.json');
    const full = JSON.parse(fs.readFileSync(fitted('reference.npy'), 'utf8'));
    delete full.sketch;
    fs.writeFileSync(old, JSON.stringify(full));
    const r = tsnorm(['check', path.join(DRIFT, 'shift.npy'), '--stats', old, '--format', 'json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      `tsnorm: note: ${old} has no sketch of the fitted values (a state_dict, or a stats file of an older tsnorm): the distribution checks are skipped; tsnorm fit writes one\n`,
    );
    expect(JSON.parse(r.stdout.toString()).files[0].channels[0]).toMatchObject({ ks: null, psi: null, wasserstein: null });
    expect(tsnorm(['check', path.join(DRIFT, 'shift.npy'), '--stats', old, '-q']).stderr).toBe('');
  });

  it('values that vary too little for their size to resolve: no scores, and a note, not a false pass', () => {
    // 1e6 +- 1 against 1e6 + 0.5 +- 1: a real drift, but a 0.2% bucket at 1e6 is 2000 wide.
    const ref = at('offset-ref.npy');
    const cur = at('offset-cur.npy');
    const npy = (file: string, n: number, shift: number) => {
      const values = Float64Array.from({ length: n }, (_, i) => 1e6 + shift + Math.sin(i * 12.9898) * 1.7);
      const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, ${n}), }`;
      const head = Buffer.alloc(10);
      head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
      const pad = ' '.repeat(63 - ((10 + dict.length) % 64)) + '\n';
      head.writeUInt16LE(dict.length + pad.length, 8);
      fs.writeFileSync(file, Buffer.concat([head, Buffer.from(dict + pad, 'latin1'), Buffer.from(values.buffer)]));
    };
    npy(ref, 5000, 0);
    npy(cur, 2000, 0.5);
    const stats = at('offset.json');
    expect(tsnorm(['fit', ref, '--save-stats', stats]).status).toBe(0);
    const r = tsnorm(['check', cur, '--stats', stats, '--format', 'json']);
    expect(r.stderr).toBe(
      "tsnorm: note: 'c0': the reference's values vary too little for their size for its sketch to tell distributions apart (a std below 0.4% of the mean): no distribution scores for it\n",
    );
    expect(JSON.parse(r.stdout.toString()).files[0].channels[0]).toMatchObject({ resolved: false, ks: null, psi: null, wasserstein: null });
    // The fixtures' channels are resolved.
    expect(checked('same').report.files[0].channels[0].resolved).toBe(true);
  });

  it('a sketch with a bucket beyond finite values is refused', () => {
    const bad = at('far-sketch.json');
    const full = JSON.parse(fs.readFileSync(fitted('reference.npy'), 'utf8'));
    full.sketch.channels[0].positive = [[1e12, [1]]];
    fs.writeFileSync(bad, JSON.stringify(full));
    const r = tsnorm(['check', path.join(DRIFT, 'same.npy'), '--stats', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/"sketch" channel 0 positive run 0: keys 1000000000000 to 1000000000000 are beyond those of finite values \(\+-\d+\)\n$/);
  });

  it('stats merge says so when a file without a sketch leaves the merged one without', () => {
    const withSketch = fitted('reference.npy');
    const old = at('merge-old.json');
    const full = JSON.parse(fs.readFileSync(withSketch, 'utf8'));
    delete full.sketch;
    fs.writeFileSync(old, JSON.stringify(full));
    const merged = at('merged.json');
    const r = tsnorm(['stats', 'merge', withSketch, old, '-o', merged]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      `tsnorm: note: ${merged}: written without a sketch of the values: ${old} has none (check's distribution checks need one; fit it again with this tsnorm)\n`,
    );
  });

  it('a damaged sketch is refused, naming the place', () => {
    const bad = at('bad-sketch.json');
    const full = JSON.parse(fs.readFileSync(fitted('reference.npy'), 'utf8'));
    full.sketch.channels[0].positive[1][1][0] = -1;
    fs.writeFileSync(bad, JSON.stringify(full));
    const r = tsnorm(['check', path.join(DRIFT, 'same.npy'), '--stats', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`tsnorm: ${bad}: "sketch" channel 0 positive run 1 count 0 is -1, expected a whole number >= 0\n`);
  });
});
