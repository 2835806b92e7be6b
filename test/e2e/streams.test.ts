import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InstanceNorm1d } from '../../src/index.js';
import { type FixtureCase, loadCases, tolerance } from '../helpers/cases.js';
import { FIXTURES, startTsnorm, tempDir, tsnorm, tsnormWithStdinFile } from '../helpers/cli.js';
import { maxRelativeError, readNpy } from '../helpers/npy.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const input = (name: string, file = 'input.npy') => path.join(FIXTURES, 'cases', name, file);

describe('stdin and stdout', () => {
  const reference = () => {
    const out = path.join(tmp.dir, 'ref-basic.npy');
    expect(tsnorm(['normalize', input('basic'), '-o', out]).status).toBe(0);
    return fs.readFileSync(out);
  };

  it('reads a pipe and writes stdout', () => {
    const r = tsnorm(['normalize'], { input: fs.readFileSync(input('basic')) });
    expect(r.stderr).toBe('');
    expect(r.stdout.equals(reference())).toBe(true);
  });

  it('reads stdin redirected from a file', () => {
    const r = tsnormWithStdinFile(['-'], input('basic'));
    expect(r.status).toBe(0);
    expect(r.stdout.equals(reference())).toBe(true);
  });

  it('normalize is the default command', () => {
    const r = tsnorm([input('basic')]);
    expect(r.stdout.equals(reference())).toBe(true);
  });

  it('--help and --version exit 0', () => {
    expect(tsnorm(['--help']).status).toBe(0);
    expect(tsnorm(['normalize', '--help']).stdout.toString()).toContain('--save-stats');
    expect(tsnorm(['--version']).stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('ends quietly when stdout is closed early (| head)', async () => {
    const child = startTsnorm(['normalize', input('long_series')]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });
});

describe('interrupted runs', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s removes the temporary output file', async (signal) => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'sig-'));
    const out = path.join(dir, 'out.npy');
    const child = startTsnorm(['normalize', '-', '-o', out, '--from', 'npy']);
    const bytes = fs.readFileSync(input('long_series'));
    child.stdin.write(bytes.subarray(0, 200_000)); // the header and part of the data; the pipe stays open
    const started = Date.now();
    while (!fs.readdirSync(dir).some((f) => f.endsWith('.tmp'))) {
      expect(Date.now() - started).toBeLessThan(5000);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill(signal);
    await new Promise((resolve) => child.on('close', resolve));
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('streaming paths give the same bytes as the default', () => {
  const run = (args: string[], options: { input?: Buffer } = {}) => {
    const r = tsnorm(args, options);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout;
  };
  it.each(['basic', 'fortran_f4', 'big_endian_i2', 'unbatched_2d', 'float16'])('%s with a budget of 7 values', (name) => {
    expect(run([input(name), '--budget', '7']).equals(run([input(name)]))).toBe(true);
  });

  it('a series longer than the budget from a pipe spills and reads back', () => {
    const bytes = fs.readFileSync(input('long_series'));
    expect(run(['-', '--budget', '1000'], { input: bytes }).equals(run([input('long_series')]))).toBe(true);
  });

  it('eval with a budget of 5 values', () => {
    const stats = input('eval_running_stats', 'stats_in.json');
    expect(
      run(['apply', input('eval_running_stats'), '--stats', stats, '--budget', '5']).equals(run(['apply', input('eval_running_stats'), '--stats', stats])),
    ).toBe(true);
  });

  it('a Fortran-order file from a pipe', () => {
    expect(run(['-'], { input: fs.readFileSync(input('fortran_f4')) }).equals(run([input('fortran_f4')]))).toBe(true);
  });
});

describe('output written without a copy (runs of 256 KB and more)', () => {
  it('convert of a long float32 series keeps every value', async () => {
    const out = path.join(tmp.dir, 'long-copy.npy');
    expect(tsnorm(['convert', input('long_series'), '-o', out]).status).toBe(0);
    const [a, b] = [await readNpy(input('long_series')), await readNpy(out)];
    expect(b.dtype).toBe('<f4');
    expect(b.shape).toEqual(a.shape);
    expect(Buffer.from(new Float64Array(b.data).buffer).equals(Buffer.from(new Float64Array(a.data).buffer))).toBe(true);
  });

  it('to stdout as to a file', () => {
    const out = path.join(tmp.dir, 'long-norm.npy');
    expect(tsnorm(['normalize', input('long_series'), '-o', out]).status).toBe(0);
    expect(tsnorm(['normalize', input('long_series')]).stdout.equals(fs.readFileSync(out))).toBe(true);
  });
});

describe('running stats files', () => {
  it('--stats and --save-stats may name the same file: fitting twice continues', async () => {
    const s = path.join(tmp.dir, 'same.json');
    const a = input('train_two_files');
    expect(tsnorm(['fit', a, '--save-stats', s]).status).toBe(0);
    const once = JSON.parse(fs.readFileSync(s, 'utf8'));
    expect(tsnorm(['fit', a, '--stats', s, '--save-stats', s]).status).toBe(0);
    const twice = path.join(tmp.dir, 'twice.json');
    expect(tsnorm(['fit', a, a, '--save-stats', twice]).status).toBe(0);
    const got = JSON.parse(fs.readFileSync(s, 'utf8'));
    const want = JSON.parse(fs.readFileSync(twice, 'utf8'));
    // fit's default: one update per instance.
    const instances = (await readNpy(a)).shape[0]!;
    expect(got.num_batches_tracked).toBe(2 * instances);
    // The same statistics and values' sketch; only where each fit started differs (the second continued the first).
    const { start_mean: _a, start_var: _b, start_num_batches_tracked: _c, start_sketch: startSketch, ...gotStats } = got;
    const { start_mean: _d, start_var: _e, start_num_batches_tracked: _f, ...wantStats } = want;
    expect(gotStats).toEqual(wantStats);
    expect(got.start_num_batches_tracked).toBe(instances);
    expect(startSketch).toEqual(once.sketch);
  });

  it('a failed fit leaves the stats file as it was', () => {
    const s = path.join(tmp.dir, 'kept.json');
    fs.writeFileSync(s, JSON.stringify({ running_mean: [0, 0, 0], running_var: [1, 1, 1] }));
    const before = fs.readFileSync(s, 'utf8');
    expect(tsnorm(['fit', input('basic'), path.join(FIXTURES, 'bad/truncated.npy'), '--stats', s, '--save-stats', s]).status).toBe(2);
    expect(fs.readFileSync(s, 'utf8')).toBe(before);
  });

  it('torch state_dict JSON is accepted as --stats', async () => {
    const dir = path.join(FIXTURES, 'cases/eval_running_stats');
    const statsIn = JSON.parse(fs.readFileSync(path.join(dir, 'stats_in.json'), 'utf8'));
    const sd = path.join(tmp.dir, 'state_dict.json');
    fs.writeFileSync(sd, JSON.stringify({ ...statsIn, num_batches_tracked: 7 }));
    const out = path.join(tmp.dir, 'sd.npy');
    expect(tsnorm(['apply', path.join(dir, 'input.npy'), '-o', out, '--stats', sd]).status).toBe(0);
    const got = await readNpy(out);
    const want = await readNpy(path.join(dir, 'expected.npy'));
    expect(maxRelativeError(got.data, want.data)).toBeLessThanOrEqual(1e-6);
  });
});

describe('the library against the fixtures', () => {
  // Batches and several files are the CLI's job: the library's forward is one batch; so is finding
  // the layer in a model's state_dict (prefixed keys).
  const flatStats = (c: FixtureCase) => !c.stats_in || 'running_mean' in JSON.parse(fs.readFileSync(path.join(c.dir, c.stats_in), 'utf8'));
  const cases = loadCases().filter((c) => c.expected && !c.extra_inputs && !c.batch_size && c.nan !== 'ignore' && flatStats(c));
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const x = await readNpy(path.join(c.dir, c.input));
    const f64 = c.output_dtype === '<f8';
    const m = new InstanceNorm1d(x.shape[x.shape.length - 2]!, {
      eps: c.eps,
      momentum: c.momentum,
      affine: Boolean(c.affine),
      trackRunningStats: c.track_running_stats,
    });
    const load = (file?: string) => (file ? JSON.parse(fs.readFileSync(path.join(c.dir, file), 'utf8')) : {});
    m.loadStateDict({ ...load(c.affine), ...load(c.stats_in) });
    m.train(c.training);
    const y = m.forward({ shape: x.shape, data: f64 ? x.data : Float32Array.from(x.data) });
    expect(y.data).toBeInstanceOf(f64 ? Float64Array : Float32Array);
    const want = await readNpy(path.join(c.dir, c.expected!));
    expect(maxRelativeError(y.data, want.data)).toBeLessThanOrEqual(tolerance(c, c.output_dtype!));
    if (c.expected_stats) {
      const s = load(c.expected_stats);
      const got = m.stateDict();
      expect(maxRelativeError(got.running_mean!, s.running_mean)).toBeLessThanOrEqual(1e-9);
      expect(maxRelativeError(got.running_var!, s.running_var)).toBeLessThanOrEqual(1e-9);
    }
  });
});
