import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { formatHeader } from '../../src/formats/npy/header.js';
import { BIN, FIXTURES, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';
import { maxRelativeError, readNpy } from '../helpers/npy.js';
import { xorshift32 } from '../helpers/random.js';

// The running statistics as a model: inverse maps apply's output back, inspect describes an
// input, check holds data to a fitted reference for CI.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const file = (name: string) => path.join(tmp.dir, name);

/** A float64 NPY of (n, 3, L) with per-channel offsets and scales, deterministic. */
function npy(name: string, n: number, L: number, seed: number, edit?: (v: Float64Array) => void): string {
  const next = xorshift32(seed);
  const v = Float64Array.from({ length: n * 3 * L }, (_, i) => {
    const c = Math.floor(i / L) % 3;
    return (next() / 2 ** 32 - 0.5) * [1, 5, 0.1][c]! + [0, 100, -3][c]!;
  });
  edit?.(v);
  const f = file(name);
  fs.writeFileSync(f, Buffer.concat([formatHeader('<f8', [n, 3, L]), Buffer.from(v.buffer)]));
  return f;
}

const train = npy('train.npy', 12, 40, 1);
const stats = file('stats.json');
const affine = file('affine.json');
fs.writeFileSync(affine, JSON.stringify({ weight: [2, 0.5, -1.5], bias: [0.25, -1, 3] }));

describe("inverse maps apply's output back", () => {
  it('in every format, with and without affine, to 1e-9 relative', async () => {
    expect(tsnorm(['fit', train, '--save-stats', stats]).status).toBe(0);
    const base = await readNpy(train);
    for (const ext of ['npy', 'csv', 'tsv', 'arrow', 'arrows']) {
      for (const extra of [[], ['--affine', affine]]) {
        const input = ext === 'npy' ? train : file(`train.${ext}`);
        if (ext !== 'npy' && !fs.existsSync(input)) expect(tsnorm(['convert', train, '-o', input]).status).toBe(0);
        const table = ext === 'npy' ? [] : ['--id', 'id', '--keep', 't'];
        const normalized = file(`n-${extra.length}.${ext}`);
        const back = file(`b-${extra.length}.${ext}`);
        expect(tsnorm(['apply', input, '-o', normalized, '--stats', stats, ...extra, ...table]).status).toBe(0);
        const r = tsnorm(['inverse', normalized, '-o', back, '--stats', stats, ...extra, ...table]);
        expect(r.stderr).toBe('');
        const again = file(`again-${extra.length}-${ext}.npy`);
        expect(tsnorm(['convert', back, '-o', again, ...table]).status).toBe(0);
        expect(maxRelativeError((await readNpy(again)).data, base.data)).toBeLessThanOrEqual(1e-9);
        // And apply's output really was normalized (not the input again).
        const n = file(`n-${extra.length}-${ext}.npy`);
        expect(tsnorm(['convert', normalized, '-o', n, ...table]).status).toBe(0);
        expect(maxRelativeError((await readNpy(n)).data, base.data)).toBeGreaterThan(0.1);
      }
    }
  });

  it('refuses a weight of 0 (nothing to map back) and needs --stats', () => {
    const zero = file('zero.json');
    fs.writeFileSync(zero, JSON.stringify({ weight: [1, 0, 1], bias: [0, 0, 0] }));
    const r = tsnorm(['inverse', train, '--stats', stats, '--affine', zero, '-o', file('never.npy')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`tsnorm: ${zero}: weight[1] is 0: it maps every value to the bias, which cannot be inverted\n`);
    expect(fs.existsSync(file('never.npy'))).toBe(false);
    const s = tsnorm(['inverse', train]);
    expect(s.status).toBe(2);
    expect(s.stderr).toContain('inverse needs --stats FILE');
  });
});

describe('inspect', () => {
  it('and check give a finite std for values whose variance is beyond float64 (1e200 apart)', () => {
    // 2^640 (~4.6e192) times the values of a small file: exact in float64, and the std is 2^640
    // times theirs, whose variance fits (reference: the two-pass formula on the small values).
    const k = 2 ** 640;
    let small: Float64Array = new Float64Array();
    const huge = npy('huge.npy', 3, 10, 4, (v) => {
      small = v.slice();
      for (let i = 0; i < v.length; i++) v[i]! *= k;
    });
    const r = tsnorm(['inspect', huge, '--json']);
    expect(r.status).toBe(0);
    const [s] = JSON.parse(r.stdout.toString());
    for (let c = 0; c < 3; c++) {
      const xs: number[] = [];
      for (let n = 0; n < 3; n++) xs.push(...small.slice((n * 3 + c) * 10, (n * 3 + c + 1) * 10));
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
      expect(Math.abs(s.perChannel[c].std / k - std) / std).toBeLessThan(1e-12);
    }
    // check against a reference of the same scale: no false spread problem.
    const reference = file('huge-reference.json');
    fs.writeFileSync(reference, JSON.stringify({ running_mean: [0, 100 * k, -3 * k], running_var: [1e300, 1e300, 1e300] }));
    const checked = tsnorm(['check', huge, '--stats', reference, '--format', 'json', '--max-z', '1e200', '--max-std-ratio', '1e200', '-q']);
    expect(checked.stderr.toString()).toBe('');
    expect(checked.status).toBe(0);
  });

  it('describes shape and channels, the statistics over all values, missing values', () => {
    const gaps = npy('gaps.npy', 3, 10, 2, (v) => {
      v[0] = NaN;
      v[5] = NaN;
      v[45] = Infinity;
    });
    const r = tsnorm(['inspect', gaps, '--json']);
    expect(r.status).toBe(0);
    const [s] = JSON.parse(r.stdout.toString());
    expect(s).toMatchObject({ format: 'npy', instances: 3, channels: 3, steps: { min: 10, max: 10 }, values: 90, dtype: 'float64' });
    // Reference: the same values read back and summed naively.
    const data = Array.from(
      new Float64Array(
        fs
          .readFileSync(gaps)
          .subarray(128)
          .buffer.slice(fs.readFileSync(gaps).byteOffset + 128),
      ),
    );
    for (let c = 0; c < 3; c++) {
      const xs: number[] = [];
      for (let n = 0; n < 3; n++) xs.push(...data.slice((n * 3 + c) * 10, (n * 3 + c + 1) * 10));
      const finite = xs.filter((x) => Number.isFinite(x));
      const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
      const std = Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / finite.length);
      const ch = s.perChannel[c];
      expect(ch.missing).toBe(xs.filter((x) => x !== x).length);
      expect(ch.infinite).toBe(xs.filter((x) => x === Infinity).length);
      expect(ch.count).toBe(xs.length - ch.missing);
      expect(Math.abs(ch.mean - mean) / Math.abs(mean || 1)).toBeLessThan(1e-12);
      expect(Math.abs(ch.std - std) / std).toBeLessThan(1e-10);
      // Over finite values: infinities are counted apart (and JSON cannot hold them).
      expect(ch.max).toBe(Math.max(...finite));
      expect(ch.min).toBe(Math.min(...finite));
    }
  });

  it('a table for people, with the range of lengths of a CSV with ids', () => {
    const r = tsnorm(['inspect', path.join(FIXTURES, 'csv/long_quoted/input.csv'), '--id', 'device', '--keep', 'ts']);
    expect(r.status).toBe(0);
    const text = r.stdout.toString();
    expect(text).toContain('3 instances x 3 channels x 25..40 steps');
    expect(text).toMatch(/^channel\s+count\s+mean\s+std\s+min\s+max\s+missing$/m);
    expect(text).toMatch(/^ax\s+95\s/m);
    expect(text).toContain('\nother columns: ts (int64, passed through), device (utf8, id), note (utf8, passed through)\n');
    // An NPY has no other columns (not the id and step it would get as CSV).
    expect(tsnorm(['inspect', train]).stdout.toString()).not.toContain('other columns');
  });

  it("the table's min and max are the file's values, digit for digit", () => {
    // A timestamp taken as a channel: its min and max as the CSV writes them (six digits showed 1.7e9 for both).
    const input = path.join(FIXTURES, 'csv/long_quoted/input.csv');
    const ts = fs
      .readFileSync(input, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((row) => row.split(',')[0]!);
    const sorted = [...ts].sort((a, b) => Number(a) - Number(b));
    const row = tsnorm(['inspect', input, '--id', 'device'])
      .stdout.toString()
      .split('\n')
      .find((l) => l.startsWith('ts '))!
      .trim()
      .split(/\s+/);
    expect([row[4], row[5]]).toEqual([sorted[0], sorted[sorted.length - 1]]);
    // float32 values: the shortest text that reads back as the same float32 (9 digits at most).
    const example = path.join(FIXTURES, 'example.npy');
    const values = new Float32Array(new Uint8Array(fs.readFileSync(example).subarray(128)).buffer);
    const lines = tsnorm(['inspect', example])
      .stdout.toString()
      .split('\n')
      .filter((l) => /^c\d /.test(l))
      .map((l) => l.trim().split(/\s+/));
    lines.forEach((cells, c) => {
      let [min, max] = [Infinity, -Infinity];
      for (let n = 0; n < 8; n++)
        for (let t = 0; t < 200; t++) {
          const x = values[(n * 3 + c) * 200 + t]!;
          min = Math.min(min, x);
          max = Math.max(max, x);
        }
      for (const [text, want] of [
        [cells[4]!, min],
        [cells[5]!, max],
      ] as const) {
        expect(Math.fround(Number(text))).toBe(want);
        expect(text.replace(/^-|\.|e.*$/g, '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
      }
    });
  });

  it('an Arrow stream and several inputs at once', () => {
    const arrows = file('i.arrows');
    expect(tsnorm(['convert', train, '-o', arrows]).status).toBe(0);
    const r = tsnorm(['inspect', train, arrows, '--json', '--id', 'id', '--keep', 't']);
    // --id is for tables: refused for the NPY among them.
    expect(r.status).toBe(2);
    const ok = tsnorm(['inspect', arrows, '--json', '--id', 'id', '--keep', 't']);
    const [s] = JSON.parse(ok.stdout.toString());
    expect(s).toMatchObject({ format: 'arrows', instances: 12, channels: 3 });
  });
});

describe('check', () => {
  const reference = file('reference.json');
  const runCheck = (inputs: string[], extra: string[] = []) => tsnorm(['check', ...inputs, '--stats', reference, ...extra]);

  it('clean data: exit 0 and a one-line summary', () => {
    expect(tsnorm(['fit', train, '--save-stats', reference]).status).toBe(0);
    const r = runCheck([npy('clean.npy', 4, 40, 3)]);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('ok: 4 instances in 1 file, no problem\n');
  });

  it('each kind of problem, found and named; exit 1', () => {
    // instance 0: a missing value in channel 0; 1: channel 1 flat; 2: channel 2 shifted by 30 std;
    // 3: channel 0 spread 50 times wider.
    const bad = npy('bad.npy', 4, 40, 4, (v) => {
      v[7] = NaN;
      for (let t = 0; t < 40; t++) v[(1 * 3 + 1) * 40 + t] = 100;
      for (let t = 0; t < 40; t++) v[(2 * 3 + 2) * 40 + t]! += (30 * 0.1) / Math.sqrt(12);
      // Wider about its own mean, so that the mean stays where it was.
      const at = (3 * 3 + 0) * 40;
      const mean = v.subarray(at, at + 40).reduce((a, b) => a + b, 0) / 40;
      for (let t = 0; t < 40; t++) v[at + t] = mean + (v[at + t]! - mean) * 50;
    });
    const r = runCheck([bad], ['--format', 'json']);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout.toString());
    expect(report.ok).toBe(false);
    expect(report.counts).toMatchObject({ missing: 1, constant: 1, 'drift-mean': 1, 'drift-std': 1, length: 0, schema: 0 });
    const byKind = Object.fromEntries(report.problems.map((p: { kind: string }) => [p.kind, p]));
    expect(byKind.missing).toMatchObject({ instance: { index: 0, id: null }, channel: 'c0', byte: 128 + 7 * 8, count: 1 });
    expect(byKind.constant).toMatchObject({ instance: { index: 1, id: null }, channel: 'c1', byte: 128 + (1 * 3 + 1) * 40 * 8, value: 100 });
    expect(byKind['drift-mean']).toMatchObject({ instance: { index: 2, id: null }, channel: 'c2', byte: 128 + (2 * 3 + 2) * 40 * 8, limit: 6 });
    expect(byKind['drift-std']).toMatchObject({ instance: { index: 3, id: null }, channel: 'c0', byte: 128 + (3 * 3 + 0) * 40 * 8, limit: 10 });
    // Every report format names each of them, with its instance and channel, and exits 1.
    const expected = [
      ['missing', 0, 'c0', 'missing or infinite values'],
      ['constant', 1, 'c1', 'flat channels'],
      ['drift-mean', 2, 'c2', 'mean drift'],
      ['drift-std', 3, 'c0', 'spread drift'],
    ] as const;
    const text = runCheck([bad]);
    expect(text.status).toBe(1);
    const lines = text.stdout.toString().trimEnd().split('\n');
    expect(lines.at(-1)).toBe('4 problems in 4 instances: 1 missing or infinite values, 1 flat channels, 1 mean drift, 1 spread drift');
    for (const [, n, c] of expected) expect(lines.some((l) => l.startsWith(`${bad}, instance ${n}, channel '${c}'`))).toBe(true);
    const junit = runCheck([bad], ['--format', 'junit']);
    expect(junit.status).toBe(1);
    expect(junit.stdout.toString()).toContain('<testsuites name="tsnorm check" tests="4" failures="4" errors="0">');
    for (const [kind, n, c] of expected) {
      expect(junit.stdout.toString()).toContain(`<testcase classname="tsnorm.check.${kind}" name="${bad}, instance ${n}, channel &apos;${c}&apos;`);
    }
    const github = runCheck([bad], ['--format', 'github']);
    expect(github.status).toBe(1);
    const annotations = github.stdout
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('::error '));
    expect(annotations).toHaveLength(4);
    for (const [, n, c, title] of expected) {
      expect(annotations.some((a) => a.includes(`title=tsnorm check%3A ${title}::${bad}, instance ${n}, channel '${c}'`))).toBe(true);
    }
    // The flags that accept them.
    expect(runCheck([bad], ['--allow-nan', '--allow-constant', '--max-z', '100', '--max-std-ratio', '100']).status).toBe(0);
  });

  it('many problems: the first 100 listed, all counted, JUnit counts adding up', () => {
    const gappy = npy('gappy.npy', 150, 10, 8, (v) => {
      for (let n = 0; n < 150; n++) v[n * 30] = NaN;
    });
    const json = JSON.parse(runCheck([gappy], ['--format', 'json']).stdout.toString());
    expect(json.counts.missing).toBe(150);
    expect(json.problems).toHaveLength(100);
    expect(runCheck([gappy]).stdout.toString()).toContain('\n... and 50 more\n150 problems in 150 instances: 150 missing or infinite values\n');
    const xml = runCheck([gappy], ['--format', 'junit']).stdout.toString();
    expect(xml).toContain('<testsuites name="tsnorm check" tests="101" failures="101" errors="0">');
    expect(xml.match(/<failure /g)).toHaveLength(101);
    expect(xml).toContain('message="50 more problems, not listed');
  });

  it('length and schema problems', () => {
    expect(runCheck([npy('short.npy', 2, 5, 5)], ['--min-length', '10']).stdout.toString()).toContain('5 steps, fewer than 10 (--min-length)');
    const csv = file('named.csv');
    fs.writeFileSync(csv, 'a,b\n1,2\n2,3\n3,5\n');
    const r = runCheck([csv]);
    expect(r.status).toBe(1);
    expect(r.stdout.toString()).toContain('2 channels, the stats file has 3');
  });

  it('JUnit XML and GitHub annotations', () => {
    const bad = npy('bad2.npy', 2, 40, 6, (v) => {
      v[3] = NaN;
    });
    const junit = runCheck([bad], ['--format', 'junit']);
    expect(junit.status).toBe(1);
    const xml = junit.stdout.toString();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="tsnorm check" tests="1" failures="1" errors="0">/);
    expect(xml).toContain('<failure type="missing"');
    expect(xml).toContain(`<testsuite name="${bad}" tests="1" failures="1" errors="0">`);
    const gh = runCheck([bad], ['--format', 'github']).stdout.toString().split('\n');
    expect(gh[0]).toMatch(/^::error file=.*bad2\.npy,title=tsnorm check%3A missing or infinite values::.*instance 0, channel 'c0', byte 152: 1 missing/);
    const csv = file('line.csv');
    fs.writeFileSync(csv, 'id,t,c0,c1,c2\n0,0,1,100,-3\n0,1,,101,-3.1\n0,2,0.5,99,-2.9\n');
    expect(runCheck([csv], ['--id', 'id', '--keep', 't', '--format', 'github']).stdout.toString()).toMatch(/^::error file=.*line\.csv,line=3,/);
  });

  it('unreadable input and bad flags: exit 2', () => {
    const r = runCheck([file('missing.npy')]);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(tsnorm(['check', train]).stderr).toContain('check needs --stats FILE');
    expect(runCheck([train], ['--max-std-ratio', '0.5']).stderr).toContain('--max-std-ratio: expected a number above 1');
    const tableFlag = runCheck([train], ['--id', 'id']);
    expect(tableFlag.status).toBe(2);
    expect(tableFlag.stderr.toString()).toBe(`tsnorm: --id: for CSV/TSV/ARROW/ARROWS/PARQUET input, and ${train} is NPY\n`);
  });

  it('streams: Arrow files work as NPY does', () => {
    const arrow = file('c.arrow');
    expect(tsnorm(['convert', npy('c.npy', 3, 40, 7), '-o', arrow]).status).toBe(0);
    expect(runCheck([arrow], ['--id', 'id', '--keep', 't']).status).toBe(0);
    expect(A.tableFromIPC(fs.readFileSync(arrow)).numRows).toBe(120);
  });
});

describe('reports to stdout, as any output', () => {
  const reference = file('report-reference.json');
  const toFile = (args: string[], out: string) => {
    const fd = fs.openSync(out, 'w');
    try {
      return spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
    } finally {
      fs.closeSync(fd);
    }
  };

  it('a full disk is one line and exit 2, for check (whatever it found), inspect and --help', () => {
    expect(tsnorm(['fit', train, '--save-stats', reference]).status).toBe(0);
    const bad = npy('report-bad.npy', 2, 40, 6, (v) => {
      v[3] = NaN;
    });
    for (const args of [
      ['check', bad, '--stats', reference, '--format', 'junit'],
      ['check', train, '--stats', reference],
      ['inspect', train, '--json'],
      ['--help'],
      ['check', '--help'],
      ['--version'],
    ]) {
      const r = toFile(args, '/dev/full');
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toBe('tsnorm: <stdout>: no space left on device\n');
    }
  });

  it('a reader that stops early (| head) ends it quietly: exit 0, or 1 for check that found problems', () => {
    const many = npy('report-many.npy', 150, 10, 8, (v) => {
      for (let n = 0; n < 150; n++) v[n * 30] = NaN;
    });
    for (const [args, code] of [
      [['check', many, '--stats', reference, '--format', 'junit'], 1],
      [['check', train, '--stats', reference], 0],
      [['inspect', many, many, many], 0],
    ] as const) {
      const r = spawnSync(
        'bash',
        [
          '-c',
          `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${args.map((a) => JSON.stringify(a)).join(' ')} | head -c 10 >/dev/null; echo "\${PIPESTATUS[0]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.stdout, args.join(' ')).toBe(`${code}\n`);
    }
  });

  it('stdin named twice is refused', () => {
    const r = tsnorm(['check', '-', '-', '--stats', reference]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('tsnorm: stdin (-) can be read only once\n');
    expect(tsnorm(['inspect', '-', '-']).stderr).toBe('tsnorm: stdin (-) can be read only once\n');
  });
});
