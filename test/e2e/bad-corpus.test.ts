import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURES, ROOT, isOneLineError, tempDir } from '../helpers/cli.js';

// The malformed-input corpus (fixtures/bad/, written by `node fixtures/generate_bad.mjs`, listed
// in fixtures/bad/corpus.json) and bad invocations: every one must end with exit code 2, one
// line on stderr saying what is wrong (the expected text, with the file, line, column or byte
// where tsnorm reports them), nothing on stdout, and no output file, temporary file or scratch
// folder left behind.

const BAD = path.join(FIXTURES, 'bad');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

interface CorpusCase {
  /** The file in fixtures/bad/. */
  readonly file: string;
  readonly kind: 'npy' | 'csv' | 'tsv' | 'arrow' | 'arrows' | 'stats' | 'affine';
  readonly about: string;
  /** Run from the repository's root; `{file}`, `{bad}` and `{dir}` are replaced. */
  readonly args: readonly string[];
  /** The file goes to stdin. */
  readonly stdin?: boolean;
  /** Text the one-line message must contain (`{dir}` replaced). */
  readonly error: string;
  /** A known misbehaviour of the CLI on this case: the test fails until it is fixed. */
  readonly finding?: string;
}

const corpus = JSON.parse(fs.readFileSync(path.join(BAD, 'corpus.json'), 'utf8')) as CorpusCase[];

interface Run {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * The built CLI, asynchronously (so that cases run side by side), from the repository's root,
 * with TMPDIR set to `scratch` (where its private temporary folders go).
 */
function run(args: readonly string[], scratch: string, input?: Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: scratch, TSNORM_DEBUG: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // The CLI may stop reading stdin once it has seen enough.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? Buffer.alloc(0));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** An empty folder for a case's outputs, and one for its TMPDIR. */
function folders(): { dir: string; scratch: string } {
  const base = fs.mkdtempSync(path.join(tmp.dir, 'case-'));
  const dir = path.join(base, 'out');
  const scratch = path.join(base, 'tmp');
  fs.mkdirSync(dir);
  fs.mkdirSync(scratch);
  return { dir, scratch };
}

const fill = (text: string, values: Record<string, string>): string => text.replace(/\{(file|bad|dir)\}/g, (m, key: string) => values[key] ?? m);

/** Exit 2, the expected text on one line, nothing on stdout, and `dir` and `scratch` as they were. */
function expectRefused(r: Run, error: string, dir: string, scratch: string, before: readonly string[] = []): void {
  expect(r.stderr).toContain(error);
  expect(r.status).toBe(2);
  expect(isOneLineError(r.stderr)).toBe(true);
  expect(r.stderr).not.toMatch(/\n\s+at |Error: |internal error/);
  expect(r.stdout.length).toBe(0);
  // No output, no .tsnorm-*.tmp beside it, no scratch folder left in TMPDIR.
  expect(fs.readdirSync(dir).sort()).toEqual([...before].sort());
  expect(fs.readdirSync(scratch)).toEqual([]);
}

describe('the corpus', () => {
  it('holds every data file in fixtures/bad, and more than 60 of them', () => {
    const files = fs.readdirSync(BAD).filter((f) => !['README.md', 'corpus.json', 'expected-errors.json'].includes(f));
    expect(files.length).toBeGreaterThanOrEqual(60);
    expect(corpus.map((c) => c.file).sort()).toEqual(files.sort());
    const kinds = new Set(corpus.map((c) => c.kind));
    for (const kind of ['npy', 'csv', 'tsv', 'arrow', 'arrows', 'stats', 'affine']) expect(kinds).toContain(kind);
  });

  it('keeps the cases of expected-errors.json (the NPY files of generate.py)', () => {
    const legacy = JSON.parse(fs.readFileSync(path.join(BAD, 'expected-errors.json'), 'utf8')) as Record<string, string>;
    for (const [file, text] of Object.entries(legacy)) {
      const c = corpus.find((e) => e.file === file);
      expect(c, file).toBeDefined();
      expect(c!.error).toContain(text);
    }
  });
});

describe.concurrent('malformed inputs: exit 2, one line naming the problem, no output', () => {
  for (const c of corpus) {
    const title = `${c.file}: ${c.about}`;
    it(title, async () => {
      // A case marked as a known misbehaviour fails until it is fixed: nothing is skipped.
      expect(c.finding, `known misbehaviour, to fix: ${c.finding}`).toBeUndefined();
      const { dir, scratch } = folders();
      const values = { file: `fixtures/bad/${c.file}`, bad: 'fixtures/bad', dir };
      const args = c.args.map((a) => fill(a, values));
      const r = await run(args, scratch, c.stdin ? fs.readFileSync(path.join(BAD, c.file)) : undefined);
      expectRefused(r, fill(c.error, values), dir, scratch);
    });
  }
});

const NPY = 'fixtures/cases/basic/input.npy'; // (4, 3, 50) float32
const CSV = 'fixtures/csv/long_quoted/input.csv'; // ts, device, ax, ay, note, pressure
const STATS = 'fixtures/cases/eval_running_stats/stats_in.json';
const AFFINE = 'fixtures/cases/affine/affine.json';
const OUT = '{dir}/out.npy';

/**
 * Bad invocations of good files: [arguments, text the message must contain]. `{dir}` is an empty
 * folder (files listed in `copies` are put there first, and must be left as they were).
 */
const invocations: [readonly string[], string, Record<string, string>?][] = [
  [['help', 'bogus'], "help: unknown command 'bogus' (the commands: normalize, fit, apply, convert, inspect, check, stats, inverse, completion)"],
  [['help', 'fitt'], "help: unknown command 'fitt': did you mean 'fit'?"],
  [['normalize', NPY, '-o', OUT, '--eps', '-1'], '--eps: expected a positive number, got "-1"'],
  [['normalize', NPY, '-o', OUT, '--eps', '0'], '--eps: expected a positive number, got "0"'],
  [['normalize', NPY, '-o', OUT, '--eps', 'abc'], '--eps: expected a positive number, got "abc"'],
  [['normalize', NPY, '-o', OUT, '--eps', 'inf'], '--eps: expected a positive number, got "inf"'],
  [['normalize', NPY, '-o', OUT, '--track-running-stats', '--momentum', '1.5'], '--momentum: expected a number in [0, 1] or "cumulative", got "1.5"'],
  [['normalize', NPY, '-o', OUT, '--track-running-stats', '--momentum=-0.1'], '--momentum: expected a number in [0, 1] or "cumulative", got "-0.1"'],
  [['fit', NPY, '--save-stats', '{dir}/s.json', '--momentum', '2'], '--momentum: expected a number in [0, 1] or "cumulative", got "2"'],
  [['normalize', NPY, '-o', OUT, '--track-running-stats', '--batch-size', '0'], "--batch-size: expected a whole number >= 1, got '0'"],
  [['normalize', NPY, '-o', OUT, '--track-running-stats', '--batch-size=-3'], "--batch-size: expected a whole number >= 1, got '-3'"],
  [['fit', NPY, '--save-stats', '{dir}/s.json', '--batch-size', '1.5'], "--batch-size: expected a whole number >= 1, got '1.5'"],
  [
    ['normalize', NPY, '-o', OUT, '--from', 'xml'],
    "option '--from <format>' argument 'xml' is invalid. Allowed choices are csv, tsv, npy, arrow, arrows, parquet.",
  ],
  [['convert', NPY, '-o', OUT, '--to', 'orc'], "option '--to <format>' argument 'orc' is invalid"],
  [['convert', NPY, '-o', '{dir}/out.orc'], "{dir}/out.orc: '.orc' names no format tsnorm writes (csv, tsv, npy, arrow, arrows, parquet)"],
  [['convert', NPY, '-o', OUT, '--dtype', 'int8'], "option '--dtype <dtype>' argument 'int8' is invalid. Allowed choices are float32, float64."],
  [['normalize', NPY, '-o', OUT, '--nan', 'maybe'], "option '--nan <policy>' argument 'maybe' is invalid. Allowed choices are propagate, ignore, error."],
  [['normalize', CSV, '-o', '{dir}/out.csv', '--layout', 'diagonal'], "option '--layout <layout>' argument 'diagonal' is invalid"],
  [['normalize', NPY, '-o', OUT, '--layout', 'list'], `--layout: for CSV/TSV/ARROW/ARROWS/PARQUET input, and ${NPY} is NPY`],
  [['convert', NPY, '-o', '{dir}/out.arrow', '--output-layout', 'wide'], "option '--output-layout <layout>' argument 'wide' is invalid"],
  [
    ['convert', NPY, '-o', '{dir}/out.arrow', '--compression', 'brotli'],
    '--compression brotli: Arrow IPC compresses with lz4 or zstd, and {dir}/out.arrow is Arrow (brotli is for Parquet)',
  ],
  [['convert', NPY, '-o', OUT, '--compression', 'zstd'], '--compression: for ARROW/ARROWS/PARQUET output, and {dir}/out.npy is NPY'],
  [['normalize', CSV, '-o', '{dir}/out.csv', '--num-channels', '2'], '--num-channels goes with --layout wide'],
  [['normalize', CSV, '-o', '{dir}/out.csv', '--layout', 'wide', '--num-channels', '0'], "--num-channels: expected a whole number >= 1, got '0'"],
  [
    ['normalize', CSV, '-o', '{dir}/out.csv', '--layout', 'wide', '--id', 'device'],
    '--layout wide: rows are series; --id and --channels are for the long layout',
  ],
  [
    ['normalize', CSV, '-o', '{dir}/out.csv', '--delimiter', '5'],
    "--delimiter: expected one ASCII character that cannot be part of a number (',', ';', '|', tab, ...), got '5'",
  ],
  [['normalize', CSV, '-o', '{dir}/out.csv', '--precision', '0'], "--precision: expected a whole number >= 1, got '0'"],
  [['normalize', CSV, '-o', '{dir}/out.csv', '--precision', '18'], '--precision: at most 17 significant digits'],
  [['normalize', CSV, '-o', '{dir}/out.csv', '--threads', '0'], "--threads: expected a whole number >= 1, got '0'"],
  [['normalize', CSV, '-o', '{dir}/out.csv', '--threads', 'all'], "--threads: expected a whole number >= 1, got 'all'"],
  [['normalize', CSV, '-o', '{dir}/out.csv', '--off-thread-after', '-1'], "--off-thread-after: expected a whole number >= 0, got '-1'"],
  [['normalize', CSV, '-o', '{dir}/out.csv', '--channels', 'ax,,ay'], "--channels: expected comma-separated column names, got 'ax,,ay'"],
  [['normalize', NPY, '-o', OUT, '--id', 'device'], `--id: for CSV/TSV/ARROW/ARROWS/PARQUET input, and ${NPY} is NPY`],
  [['normalize', NPY, '-o', OUT, '--keep', 'ts'], `--keep: for CSV/TSV/ARROW/ARROWS/PARQUET input, and ${NPY} is NPY`],
  [['normalize', NPY, '-o', OUT, '--precision', '5'], '--precision: for CSV/TSV output, and {dir}/out.npy is NPY'],
  [['normalize', NPY, '-o', OUT, '--output-delimiter', ';'], '--output-delimiter: for CSV/TSV output, and {dir}/out.npy is NPY'],
  [['normalize', NPY, '-o', OUT, '--affine', AFFINE, '--no-affine'], '--affine and --no-affine contradict each other: give one'],
  [['normalize', NPY, '-o', OUT, '--no-affine'], '--no-affine leaves out the weight and bias of a --stats file; there is none'],
  [['normalize', NPY, '-o', OUT, '--eval', '--track-running-stats'], '--eval with running statistics needs --stats FILE'],
  [
    ['normalize', NPY, '-o', OUT, '--eval', '--stats', STATS, '--save-stats', '{dir}/s.json'],
    '--save-stats: eval mode does not change the running statistics; nothing to save',
  ],
  [['normalize', NPY, '-o', OUT, '--momentum', '0.5'], '--momentum only matters when running statistics are updated'],
  [['normalize', NPY, '-o', OUT, '--batch-size', '4'], '--batch-size only matters when running statistics are updated'],
  [['apply', NPY, '-o', OUT, '--stats', STATS, '--batch-size', '4'], "unknown option '--batch-size'"],
  [['normalize', NPY, '-o', OUT, '--stats-key', 'enc'], '--stats-key picks a layer in a --stats or --affine file; neither is given'],
  [['normalize', NPY, '-o'], "option '-o, --output <file>' argument missing"],
  [['normalize', NPY, '-o', OUT, '--stats'], "option '--stats <file>' argument missing"],
  [['normalize', NPY, '-o', OUT, '--eps'], "option '--eps <e>' argument missing"],
  [['normalize', NPY, '-o', ''], 'an empty output file name'],
  [['normalise', NPY, '-o', OUT], "unknown command 'normalise' (and no such file): did you mean 'normalize'?"],
  [['normalize', NPY, '-o', OUT, '--bogus'], "unknown option '--bogus'"],
  [['normalize', NPY, NPY, '-o', OUT], '-o {dir}/out.npy names a file; 2 input files need an output folder (-o FOLDER/)'],
  [['convert', NPY, '-o', OUT, '--eps', '1e-3'], "unknown option '--eps'"],
  [['fit', NPY], 'fit needs --save-stats FILE'],
  [['fit', NPY, '--save-stats', '{dir}/s.json', '-o', OUT], "unknown option '-o'"],
  [['fit', '-', '-', '--save-stats', '{dir}/s.json'], 'stdin (-) can be read only once'],
  [['apply', NPY, '-o', OUT], 'apply needs --stats FILE'],
  [['inverse', NPY, '-o', OUT], 'inverse needs --stats FILE'],
  [['check', NPY], 'check needs --stats FILE'],
  [['check', NPY, '--stats', STATS, '--max-z', '-1'], "--max-z: expected a number above 0, got '-1'"],
  [['check', NPY, '--stats', STATS, '--min-length', '0'], "--min-length: expected a whole number >= 1, got '0'"],
  [['check', NPY, '--stats', STATS, '--format', 'xml'], "option '--format <format>' argument 'xml' is invalid"],
  [['inspect'], "missing required argument 'inputs'"],
  [['stats', 'merge', '-o', '{dir}/m.json'], "missing required argument 'files'"],
  [['normalize', NPY, '-o', '{dir}/s.json', '--to', 'npy', '--save-stats', '{dir}/s.json'], "-o and --save-stats both write to '{dir}/s.json'"],
  [
    ['normalize', '{dir}/in.npy', '-o', OUT, '--save-stats', '{dir}/in.npy'],
    "--save-stats and INPUT name '{dir}/in.npy': writing --save-stats would destroy the input",
    { 'in.npy': NPY },
  ],
  [
    ['apply', NPY, '-o', '{dir}/s.json', '--to', 'npy', '--stats', '{dir}/s.json'],
    "-o and --stats name '{dir}/s.json': writing -o would destroy the --stats file",
    { 's.json': STATS },
  ],
  [['normalize', NPY, '-o', '{dir}/missing/out.npy'], '{dir}/missing/out.npy: the folder {dir}/missing does not exist'],
  [['normalize', NPY, '-o', '{dir}'], '-o {dir} is a folder, and the input is one file: name the output file ({dir}/input.npy)'],
  [['normalize', 'fixtures/no-such-file.npy', '-o', OUT], 'fixtures/no-such-file.npy: no such file'],
  [['apply', NPY, '-o', OUT, '--stats', 'fixtures/cases'], 'fixtures/cases: is a directory, expected a JSON file'],
  [['apply', NPY, '-o', OUT, '--stats', '{dir}/none.json'], '{dir}/none.json: no such file'],
  [['normalize', NPY, '-o', OUT, '--from', 'csv'], `${NPY}: byte 7: a NUL byte: this is binary data, not CSV/TSV text`],
  [['normalize', NPY, '-o', OUT, '--from', 'arrows'], `${NPY}: byte 0: not an Arrow message`],
  [['normalize', CSV, '-o', OUT, '--from', 'npy'], `${CSV}: not an NPY file (bad magic`],
];

describe.concurrent('bad invocations: exit 2, one line naming the flag, no output', () => {
  for (const [args, error, copies] of invocations) {
    it(args.join(' '), async () => {
      const { dir, scratch } = folders();
      for (const [name, from] of Object.entries(copies ?? {})) fs.copyFileSync(path.join(ROOT, from), path.join(dir, name));
      const before = fs.readdirSync(dir);
      const snapshot = before.map((f) => fs.readFileSync(path.join(dir, f)));
      const r = await run(
        args.map((a) => fill(a, { dir })),
        scratch,
      );
      expectRefused(r, fill(error, { dir }), dir, scratch, before);
      before.forEach((f, i) => expect(fs.readFileSync(path.join(dir, f)).equals(snapshot[i]!)).toBe(true));
    });
  }
});
