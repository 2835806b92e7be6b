import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandInputs } from '../../src/pipeline/dataset.js';
import { FIXTURES, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';

// A folder (or a glob, or several files) as the input: every file tsnorm reads, in sorted path
// order, one fit over all of them; outputs one per input under the same relative paths.

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** A CSV of one device: 3 instances of 5 steps, values from `seed`. */
function csv(seed: number): string {
  const rows = ['id,t,a,b'];
  for (let n = 0; n < 3; n++) for (let t = 0; t < 5; t++) rows.push(`d${seed}-${n},${t},${((seed * 7 + n * 3 + t * t) % 11) + 0.5},${(seed + t * 5 + n) % 7}`);
  return `${rows.join('\n')}\n`;
}

/** data/ with hive folders, a nested folder, a file tsnorm does not read, and a hidden one. */
function dataset(name: string): string {
  const root = path.join(tmp.dir, name);
  const files: Record<string, string> = {
    'site=north/b.csv': csv(2),
    'site=north/a.csv': csv(1),
    'site=south/deep/c.csv': csv(3),
    'site=south/A.csv': csv(4),
    'z.csv': csv(5),
    _SUCCESS: '',
    'notes.txt': 'not data',
    '.hidden.csv': csv(9),
  };
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

const ORDER = ['site=north/a.csv', 'site=north/b.csv', 'site=south/A.csv', 'site=south/deep/c.csv', 'z.csv'];
const flags = ['--id', 'id', '--keep', 't'];

describe('a folder as the input', () => {
  const data = dataset('data');

  it('is its files tsnorm reads, recursively, in sorted path order (code units: A before a), hidden files left alone', () => {
    const set = expandInputs([data]);
    expect(set.files.map((f) => f.relative)).toEqual(ORDER);
    expect(set.files.map((f) => f.path)).toEqual(ORDER.map((r) => path.join(data, r)));
    expect(set.others.map((f) => f.relative)).toEqual(['_SUCCESS', 'notes.txt']);
    expect(set.many).toBe(true);
  });

  it('fit over the folder is fit over its files in that order, and says what it left out', () => {
    const fromFolder = path.join(tmp.dir, 'folder.json');
    const fromFiles = path.join(tmp.dir, 'files.json');
    const r = tsnorm(['fit', data, ...flags, '--save-stats', fromFolder]);
    expect(r.status).toBe(0);
    expect(r.stderr.toString()).toBe(
      `tsnorm: note: left out 2 files of no format tsnorm reads: ${path.join(data, '_SUCCESS')}, ${path.join(data, 'notes.txt')}\n`,
    );
    expect(tsnorm(['fit', ...ORDER.map((f) => path.join(data, f)), ...flags, '--save-stats', fromFiles]).status).toBe(0);
    expect(fs.readFileSync(fromFolder, 'utf8')).toBe(fs.readFileSync(fromFiles, 'utf8'));
  });

  it('apply writes an output per input under the same relative paths, each what apply writes for that file alone', () => {
    const stats = path.join(tmp.dir, 'apply-stats.json');
    expect(tsnorm(['fit', data, ...flags, '--save-stats', stats]).status).toBe(0);
    const out = path.join(tmp.dir, 'applied');
    const r = tsnorm(['apply', data, ...flags, '--stats', stats, '-o', out, '-q']);
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    const written = expandInputs([out]);
    expect(written.files.map((f) => f.relative)).toEqual(ORDER);
    expect(written.others).toEqual([]);
    for (const rel of ORDER) {
      const alone = tsnorm(['apply', path.join(data, rel), ...flags, '--stats', stats]);
      expect(fs.readFileSync(path.join(out, rel), 'utf8'), rel).toBe(alone.stdout.toString());
    }
  });

  it('--to names the outputs with its extension; --copy-others copies the rest unchanged', () => {
    const out = path.join(tmp.dir, 'as-arrow/');
    const r = tsnorm(['normalize', data, ...flags, '-o', out, '--to', 'arrow', '--copy-others']);
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    const set = expandInputs([out]);
    expect(set.files.map((f) => f.relative)).toEqual(ORDER.map((f) => f.replace(/\.csv$/, '.arrow')));
    expect(set.others.map((f) => f.relative)).toEqual(['_SUCCESS', 'notes.txt']);
    expect(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8')).toBe('not data');
    expect(fs.existsSync(path.join(out, '.hidden.csv'))).toBe(false);
    // Each output is what normalize writes for its file alone.
    const alone = path.join(tmp.dir, 'alone.arrow');
    expect(tsnorm(['normalize', path.join(data, 'z.csv'), ...flags, '-o', alone]).status).toBe(0);
    expect(fs.readFileSync(path.join(out, 'z.arrow')).equals(fs.readFileSync(alone))).toBe(true);
  });

  it('a quoted glob works the same way, relative to its fixed folders', () => {
    const out = path.join(tmp.dir, 'globbed');
    expect(tsnorm(['normalize', `${data}/site=*/*.csv`, ...flags, '-o', out]).status).toBe(0);
    expect(expandInputs([out]).files.map((f) => f.relative)).toEqual(['site=north/a.csv', 'site=north/b.csv', 'site=south/A.csv']);
    expect(expandInputs([`${data}/**/*.csv`]).files.map((f) => f.relative)).toEqual(ORDER);
    expect(expandInputs([`${data}/site=[n]*/?.csv`]).files.map((f) => f.relative)).toEqual(['site=north/a.csv', 'site=north/b.csv']);
  });

  it('an Arrow stream named .arrow (as Hugging Face datasets saves shards) stays a stream', () => {
    const shards = path.join(tmp.dir, 'shards');
    fs.mkdirSync(shards);
    fs.copyFileSync(path.join(FIXTURES, 'arrow/long_basic_stream.arrows'), path.join(shards, 'data-00000-of-00001.arrow'));
    const out = path.join(tmp.dir, 'shards-out');
    expect(tsnorm(['normalize', shards, '--id', 'item', '--keep', 't', '-o', out]).status).toBe(0);
    const head = fs.readFileSync(path.join(out, 'data-00000-of-00001.arrow')).subarray(0, 4);
    expect([...head]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });
});

describe('inputs and outputs that do not fit together: one line, exit 2, nothing written', () => {
  const data = dataset('mismatch');
  const cases: [string, string[], string][] = [
    ['a folder input to stdout', ['normalize', data, ...flags], '5 input files: each gets an output of its own; give -o FOLDER'],
    [
      'several files to one file',
      ['normalize', path.join(data, 'z.csv'), path.join(data, 'site=north/a.csv'), ...flags, '-o', path.join(data, '..', 'one.csv')],
      '',
    ],
    [
      'an output folder inside the input folder',
      ['normalize', data, ...flags, '-o', path.join(data, 'out')],
      'overlap: outputs would be written among the inputs',
    ],
    ['the input folder itself', ['normalize', data, ...flags, '-o', data], 'overlap'],
    [
      'a folder output for one file',
      ['normalize', path.join(data, 'z.csv'), ...flags, '-o', `${tmp.dir}/`],
      'is a folder, and the input is one file: name the output file',
    ],
    [
      'two inputs with one relative path',
      ['normalize', path.join(data, 'z.csv'), path.join(tmp.dir, 'data/z.csv'), ...flags, '-o', path.join(tmp.dir, 'dup')],
      'would both be written to',
    ],
    ['stdin among several', ['normalize', '-', path.join(data, 'z.csv'), ...flags, '-o', path.join(tmp.dir, 'stdin-out')], 'stdin (-) has no name'],
    [
      '--copy-others without a folder output',
      ['normalize', path.join(data, 'z.csv'), ...flags, '--copy-others', '-o', path.join(tmp.dir, 'c.csv')],
      '--copy-others',
    ],
    ['a glob that matches nothing', ['fit', `${data}/*.parquet`, '--save-stats', path.join(tmp.dir, 'never.json')], 'matches no file tsnorm reads'],
  ];
  fs.writeFileSync(path.join(data, '..', 'one.csv'), 'x\n');
  cases[1]![2] = `-o ${path.join(data, '..', 'one.csv')} names a file; 2 input files need an output folder (-o FOLDER/)`;
  it.each(cases)('%s', (_what, args, message) => {
    const before = fs.readdirSync(tmp.dir).sort();
    const r = tsnorm(args);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr.toString()).toContain(message);
    expect(fs.readdirSync(tmp.dir).sort()).toEqual(before);
  });

  it('an empty folder', () => {
    const empty = path.join(tmp.dir, 'empty');
    fs.mkdirSync(empty);
    const r = tsnorm(['fit', empty, '--save-stats', path.join(tmp.dir, 'e.json')]);
    expect(r.stderr.toString()).toBe(`tsnorm: ${empty}: a folder with no file tsnorm reads (.csv, .tsv, .npy, .arrow, .arrows, .feather, .parquet, ...)\n`);
    expect(r.status).toBe(2);
  });
});
