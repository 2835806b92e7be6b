import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseArgs, loadCases } from '../helpers/cases.js';
import { BIN, FIXTURES, ROOT, isOneLineError, tempDir } from '../helpers/cli.js';

// `npm run test:exe`: dist/tsnorm built (scripts/build-exe.mjs), copied ALONE into an empty
// folder and run there with no node on PATH and no node_modules anywhere above it. Whatever it
// computes must be byte for byte what `node bin/tsnorm.js` computes (which the other suites check
// against torch); CI also runs the torch conformance cases with the copy (.ci/run).

/** fixtures/csv/long_quoted: a long-layout CSV with a text column. */
const CSV_ARGS = ['--id', 'device', '--keep', 'ts'];
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const tmp = tempDir();
const alone = path.join(tmp.dir, 'alone');
const scratch = path.join(tmp.dir, 'scratch');
const work = path.join(tmp.dir, 'work');
const exe = path.join(alone, 'tsnorm');
// No node to fall back on, and a private $TMPDIR to see what is left behind.
const env = { PATH: '/nonexistent', TMPDIR: scratch, HOME: tmp.dir };

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}
function runExe(args: string[], input = ''): Run {
  const r = spawnSync(exe, args, { cwd: alone, env, input, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}
function runNode(args: string[], input = ''): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

beforeAll(() => {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-exe.mjs')], { cwd: ROOT, stdio: 'pipe' });
  for (const d of [alone, scratch, work]) fs.mkdirSync(d);
  fs.copyFileSync(path.join(ROOT, 'dist/tsnorm'), exe);
  fs.chmodSync(exe, 0o755);
}, 300_000);
afterAll(() => tmp.cleanup());

describe('dist/tsnorm alone in an empty folder', () => {
  it('is tsnorm, not a copy of node', () => {
    const r = runExe(['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout.toString().trim()).toBe(VERSION);
    expect(runExe(['--help']).stdout.toString()).toContain('Usage: tsnorm');
    expect(fs.readdirSync(alone)).toEqual(['tsnorm']);
  });

  it.each(loadCases().map((c) => [c.name, c] as const))('fixture case %s: same bytes and exit code as node bin/tsnorm.js', (name, c) => {
    const out = (who: string, file: string) => path.join(work, `${name}-${who}-${file}`);
    const a = runExe(
      caseArgs(
        c,
        path.join(c.dir, c.input),
        (c.extra_inputs ?? []).map((f) => path.join(c.dir, f)),
        out('exe', 'out.npy'),
        out('exe', 'stats.json'),
      ),
    );
    const b = runNode(
      caseArgs(
        c,
        path.join(c.dir, c.input),
        (c.extra_inputs ?? []).map((f) => path.join(c.dir, f)),
        out('node', 'out.npy'),
        out('node', 'stats.json'),
      ),
    );
    expect(a.status).toBe(b.status);
    expect(a.stderr.replaceAll(out('exe', ''), '')).toBe(b.stderr.replaceAll(out('node', ''), ''));
    if (c.expect_error) expect(isOneLineError(a.stderr)).toBe(true);
    for (const file of ['out.npy', 'stats.json']) {
      expect(fs.existsSync(out('exe', file))).toBe(fs.existsSync(out('node', file)));
      if (fs.existsSync(out('node', file))) expect(fs.readFileSync(out('exe', file)).equals(fs.readFileSync(out('node', file)))).toBe(true);
    }
  });

  it.each(['feather_lz4.arrow', 'feather_zstd.arrow', 'stream_zstd.arrows'])('reads the compressed Arrow fixture %s with its embedded codec', (file) => {
    const input = path.join(FIXTURES, 'arrow', file);
    const a = runExe(['normalize', input, '--id', 'item', '--keep', 't', '--to', 'npy']);
    const b = runNode(['normalize', input, '--id', 'item', '--keep', 't', '--to', 'npy']);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(a.stdout.equals(b.stdout)).toBe(true);
  });

  it.each(['lz4', 'zstd'])('writes %s-compressed Arrow: the same file node bin/tsnorm.js writes, which reads back', (codec) => {
    const input = path.join(FIXTURES, 'csv/long_quoted/input.csv');
    const [a, b] = ['exe', 'node'].map((who) => path.join(work, `csv-${codec}-${who}.arrow`));
    const w = runExe(['normalize', input, ...CSV_ARGS, '-o', a!, '--compression', codec]);
    expect(w.stderr).toBe('');
    expect(w.status).toBe(0);
    expect(runNode(['normalize', input, ...CSV_ARGS, '-o', b!, '--compression', codec]).status).toBe(0);
    expect(fs.readFileSync(a!).equals(fs.readFileSync(b!))).toBe(true);
    const back = runNode(['convert', a!, '--to', 'csv']);
    expect(back.stderr).toBe('');
    expect(back.stdout.toString()).toMatch(/^ts,device,ax,ay,note,pressure\n/);
  });

  it.each([
    ['hf_target.parquet', ['--layout', 'list', '--channels', 'target']],
    ['flat_zstd_v2_plain.parquet', ['--id', 'id', '--keep', 't', '--channels', 'f64,f32,i32']],
  ])('reads Parquet %s and writes Parquet (parquet-wasm is an asset of the executable): the file node writes', (file, flags) => {
    const input = path.join(FIXTURES, 'parquet', file);
    const [a, b] = ['exe', 'node'].map((who) => path.join(work, `${file}-${who}.parquet`));
    // -q: the flat fixture's nulls make NaN series, which a note would count.
    const w = runExe(['normalize', input, ...flags, '-q', '-o', a!]);
    expect(w.stderr).toBe('');
    expect(w.status).toBe(0);
    expect(runNode(['normalize', input, ...flags, '-q', '-o', b!]).status).toBe(0);
    expect(fs.readFileSync(a!).equals(fs.readFileSync(b!))).toBe(true);
  });

  it('formats CSV in its worker (the script is an asset of the executable): the bytes one thread writes', () => {
    const input = path.join(FIXTURES, 'golden/input-plain.csv');
    const a = runExe(['normalize', input, '--id', 'device', '--keep', 'ts', '--threads', '2', '--off-thread-after', '0', '-q']);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(a.stdout.equals(runNode(['normalize', input, '--id', 'device', '--keep', 'ts', '--threads', '1']).stdout)).toBe(true);
  });

  it("writes check's HTML report with its chart library inside (an asset of the executable): the page node writes", () => {
    const stats = path.join(work, 'drift-stats.json');
    expect(runExe(['fit', path.join(FIXTURES, 'drift/reference.npy'), '--save-stats', stats]).status).toBe(0);
    const args = ['check', path.join(FIXTURES, 'drift/shift.npy'), '--stats', stats, '--format', 'html'];
    const a = runExe(args);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(1);
    expect(a.stdout.toString()).toContain('var uPlot');
    expect(a.stdout.equals(runNode(args).stdout)).toBe(true);
  });

  it('reads stdin and writes stdout in a pipeline', () => {
    const csv = fs.readFileSync(path.join(FIXTURES, 'csv/long_quoted/input.csv'));
    const a = runExe(['normalize', '-', '--from', 'csv', ...CSV_ARGS], csv.toString('latin1'));
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(a.stdout.equals(runNode(['normalize', '-', '--from', 'csv', ...CSV_ARGS], csv.toString('latin1')).stdout)).toBe(true);
  });

  it('gives the one-line error and exit code 2 on bad input', () => {
    const r = runExe(['normalize', path.join(FIXTURES, 'bad/truncated.npy'), '-o', path.join(work, 'never.npy')]);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(fs.existsSync(path.join(work, 'never.npy'))).toBe(false);
  });

  it('leaves nothing in $TMPDIR (the codec addons are unpacked there while it runs)', () => {
    expect(fs.readdirSync(scratch)).toEqual([]);
  });
});
