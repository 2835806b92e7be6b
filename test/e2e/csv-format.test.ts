import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, isOneLineError, startTsnorm, tempDir, tsnorm } from '../helpers/cli.js';
import { maxRelativeError, readNpy } from '../helpers/npy.js';
import { SCRATCH_NAME } from '../../src/io/stale-temps.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

interface CsvCase {
  name: string;
  dir: string;
  input: string;
  args: string[];
  layout: 'long' | 'wide';
  channel_columns: number[];
  expected: string;
}
const cases: CsvCase[] = fs
  .readdirSync(path.join(FIXTURES, 'csv'))
  .sort()
  .map((name) => {
    const dir = path.join(FIXTURES, 'csv', name);
    return { ...JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8')), dir };
  });

/** The raw cells of a line, quotes kept (the quoted cells of these fixtures hold no newline). */
function rawCells(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === delimiter && !quoted) {
      cells.push(line.slice(start, i));
      start = i + 1;
    }
  }
  cells.push(line.slice(start));
  return cells;
}

function text(file: string): string {
  const bytes = fs.readFileSync(file);
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? zlib.gunzipSync(bytes) : bytes).toString('utf8');
}

function records(file: string, delimiter: string, header: boolean): string[][] {
  const rows = parse(text(file), { delimiter, bom: true, relax_quotes: false }) as string[][];
  return header ? rows.slice(1) : rows;
}

/** Channel values of the output in the order of expected.npy: per instance, channel-major. */
function channelValues(rows: string[][], c: CsvCase, idColumn: number | undefined): number[] {
  const num = (s: string) => (s === '' ? NaN : Number(s));
  if (c.layout === 'wide') return rows.flatMap((r) => c.channel_columns.map((col) => num(r[col]!)));
  const groups: string[][][] = [];
  rows.forEach((r, i) => {
    if (i === 0 || (idColumn !== undefined && r[idColumn] !== rows[i - 1]![idColumn])) groups.push([]);
    groups[groups.length - 1]!.push(r);
  });
  return groups.flatMap((g) => c.channel_columns.flatMap((col) => g.map((r) => num(r[col]!))));
}

describe.each(cases.map((c) => [c.name, c] as const))('CSV case %s', (_name, c) => {
  const delimiter = c.input.includes('.tsv') ? '\t' : ',';
  const header = !c.args.includes('--no-header');
  const ext = c.input.replace(/\.gz$/, '').split('.').pop()!;
  const out = path.join(tmp.dir, `${c.name}.${ext}`);
  const input = path.join(c.dir, c.input);

  it('writes the torch values into the channel cells', async () => {
    const r = tsnorm(['normalize', input, '-o', out, ...c.args]);
    // Series blanked by missing values (--nan propagate) are reported in one note; nothing else is said.
    expect(r.stderr.replace(/^tsnorm: note: .*\n/gm, '')).toBe('');
    expect(r.status).toBe(0);
    const names = header ? (parse(text(input), { delimiter, bom: true, to: 1 }) as string[][])[0]! : [];
    const idArg = c.args.indexOf('--id');
    const idColumn = idArg >= 0 ? names.indexOf(c.args[idArg + 1]!) : undefined;
    const want = await readNpy(path.join(c.dir, c.expected));
    expect(maxRelativeError(channelValues(records(out, delimiter, header), c, idColumn), want.data)).toBeLessThanOrEqual(1e-9);
  });

  it('copies every other cell, the header and the line endings as they were', () => {
    const inRows = records(input, delimiter, header);
    const outRows = records(out, delimiter, header);
    expect(outRows.length).toBe(inRows.length);
    const passthrough = inRows[0]!.map((_, i) => i).filter((i) => !c.channel_columns.includes(i));
    for (let r = 0; r < inRows.length; r++) for (const i of passthrough) expect(outRows[r]![i]).toBe(inRows[r]![i]);
    const inText = text(input);
    const outText = fs.readFileSync(out, 'utf8');
    const firstLine = (s: string) => s.slice(0, s.indexOf('\n') + 1);
    if (header) expect(firstLine(outText)).toBe(firstLine(inText));
    expect(outText.includes('\r\n')).toBe(inText.includes('\r\n'));
    expect(outText.startsWith('\uFEFF')).toBe(inText.startsWith('\uFEFF'));
    // The raw text of the passthrough cells, quoting included, is unchanged: compare the lines with the value cells blanked.
    const blank = (s: string) =>
      s.split(/\r?\n/).map((line) =>
        rawCells(line, delimiter)
          .map((cell, i) => (c.channel_columns.includes(i) ? '' : cell))
          .join(delimiter),
      );
    if (c.name === 'long_quoted') expect(blank(outText)).toEqual(blank(inText));
  });
});

describe('CSV output options', () => {
  const quoted = path.join(FIXTURES, 'csv/long_quoted/input.csv');
  const args = ['--id', 'device', '--keep', 'ts'];

  it('--precision N writes N significant digits of the same values', () => {
    const full = records(write(['normalize', quoted, ...args]), ',', true);
    const short = records(write(['normalize', quoted, ...args, '--precision', '4']), ',', true);
    for (let r = 0; r < full.length; r++) {
      for (const col of [2, 3, 5]) {
        expect(short[r]![col]!.replace(/^-?0\.0*|[-.]|e.*$/g, '').replace(/^0+/, '').length).toBeLessThanOrEqual(4);
        expect(Number(short[r]![col])).toBe(Number(Number(full[r]![col]).toPrecision(4)));
      }
    }
  });

  it('a .gz output decompresses to the plain output', () => {
    const plain = fs.readFileSync(write(['normalize', quoted, ...args]));
    const gz = path.join(tmp.dir, 'out.csv.gz');
    expect(tsnorm(['normalize', quoted, ...args, '-o', gz]).status).toBe(0);
    expect(zlib.gunzipSync(fs.readFileSync(gz)).equals(plain)).toBe(true);
  });

  it('TSV to CSV changes the delimiter only', () => {
    const tsv = path.join(FIXTURES, 'csv/tsv_no_header/input.tsv');
    const asTsv = records(write(['normalize', tsv, '--no-header']), '\t', false);
    const asCsv = records(write(['normalize', tsv, '--no-header', '--to', 'csv']), ',', false);
    expect(asCsv).toEqual(asTsv);
  });

  it('--delimiter reads and writes another separator', () => {
    const semi = path.join(tmp.dir, 'semi.txt');
    const comma = path.join(tmp.dir, 'comma.csv');
    const rows = ['a;b', '1.5;2', '2.5;4', '4;8'];
    fs.writeFileSync(semi, rows.join('\n') + '\n');
    fs.writeFileSync(comma, rows.join('\n').replace(/;/g, ',') + '\n');
    const a = tsnorm(['normalize', semi, '--from', 'csv', '--delimiter', ';']);
    const b = tsnorm(['normalize', comma]);
    expect(a.stderr).toBe('');
    expect(a.stdout.toString().replace(/;/g, ',')).toBe(b.stdout.toString());
    expect(a.stdout.toString().split('\n')[0]).toBe('a;b');
  });

  it('missing values are written as empty cells', () => {
    const out = fs.readFileSync(write(['normalize', path.join(FIXTURES, 'csv/missing_ignore/input.csv'), '--nan', 'ignore']), 'utf8');
    expect(out.split('\n')[4]).toMatch(/^,/);
  });

  it('NPY to CSV writes id,t,c0,... and CSV back to NPY gives the same values', async () => {
    const npy = path.join(FIXTURES, 'cases/basic/input.npy');
    const csv = path.join(tmp.dir, 'basic.csv');
    const back = path.join(tmp.dir, 'basic-back.npy');
    expect(tsnorm(['convert', npy, '-o', csv]).status).toBe(0);
    expect(fs.readFileSync(csv, 'utf8').split('\n')[0]).toBe('id,t,c0,c1,c2');
    expect(tsnorm(['convert', csv, '-o', back, '--id', 'id', '--keep', 't']).status).toBe(0);
    const [a, b] = [await readNpy(npy), await readNpy(back)];
    expect(b.shape).toEqual(a.shape);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  it('an instance larger than the memory budget spills to a temporary file, with the same result', () => {
    const plain = tsnorm(['normalize', quoted, ...args]);
    const spilled = tsnorm(['normalize', quoted, ...args, '--spill-bytes', '2000']);
    expect(spilled.stderr).toBe('');
    expect(spilled.stdout.equals(plain.stdout)).toBe(true);
    const piped = tsnorm(['normalize', '-', '--from', 'csv', ...args, '--spill-bytes', '2000'], { input: fs.readFileSync(quoted) });
    expect(piped.stdout.equals(plain.stdout)).toBe(true);
    // Its scratch folder (named with its pid) is gone.
    const leftovers = (pid: number) => fs.readdirSync(os.tmpdir()).filter((f) => SCRATCH_NAME.exec(f)?.[4] === String(pid));
    expect(leftovers(spilled.pid)).toEqual([]);
    expect(spilled.pid).toBeGreaterThan(0);
  });

  function write(argv: string[]): string {
    const out = path.join(tmp.dir, `w${Math.random().toString(36).slice(2)}.${argv.includes('--to') ? 'csv' : argv[1]!.split('.').pop()}`);
    const r = tsnorm([...argv, '-o', out]);
    expect(r.stderr).toBe('');
    return out;
  }
});

describe('CSV errors', () => {
  it.each([
    ['ragged row', 'id,a,b\nx,1,2\nx,3\n', ['--id', 'id'], 'line 3: 2 cells, expected 3'],
    ['non-numeric channel cell', 'id,a\nx,1\nx,oops\n', ['--id', 'id'], "line 3, column 'a': 'oops' is not a number"],
    ['unknown --id', 'id,a\nx,1\n', ['--id', 'dev'], "no column 'dev'; the columns are: id, a"],
    ['unknown --channels', 'id,a\nx,1\n', ['--channels', 'b'], "no column 'b'; the columns are: id, a"],
    ['unknown --keep', 'id,a\nx,1\n', ['--keep', 't'], "no column 't'; the columns are: id, a"],
    ['id that comes back', 'id,a\nx,1\nx,2\ny,3\ny,4\nx,5\n', ['--id', 'id'], "line 6: id 'x' appears again after other ids (its rows began at line 2"],
    ['unterminated quote', 'id,a\nx,1\n"x,2\nx,3\n', ['--id', 'id'], 'line 3: unterminated quoted field'],
    ['no numeric column', 'a,b\nx,y\n', [], 'no numeric column'],
    ['NPY output from instances of different lengths', 'id,a\nx,1\nx,2\nx,3\ny,3\ny,4\n', ['--id', 'id', '--to', 'npy'], 'equal length'],
    ['--nan error', 'a,b\n1,2\n,3\n4,5\n', ['--nan', 'error'], "missing value at line 3, column 'a'"],
    ['training on an instance of one row', 'id,a\nx,1\nx,2\ny,3\n', ['--id', 'id'], "instance 1 (id 'y', from line 4): 1 time step"],
  ])('%s', (_what, input, argv, message) => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'err-'));
    const file = path.join(dir, 'in.csv');
    fs.writeFileSync(file, input);
    const r = tsnorm(['normalize', file, '-o', path.join(dir, 'out'), ...argv]);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toContain(message);
    expect(fs.readdirSync(dir)).toEqual(['in.csv']);
  });
});

describe('fit over several CSV files', () => {
  it('refuses files whose channels differ, and writes no stats', () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'fit-'));
    fs.writeFileSync(path.join(dir, 'a.csv'), 'a,b\n1,2\n3,5\n');
    fs.writeFileSync(path.join(dir, 'b.csv'), 'a,c\n1,2\n3,5\n');
    const r = tsnorm(['fit', path.join(dir, 'a.csv'), path.join(dir, 'b.csv'), '--save-stats', path.join(dir, 's.json')]);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toContain('b.csv: channels [a, c] differ from');
    expect(fs.readdirSync(dir).sort()).toEqual(['a.csv', 'b.csv']);
  });
});

describe('corrupt gzip input', () => {
  const good = fs.readFileSync(path.join(FIXTURES, 'csv/gzip_input/input.csv.gz'));
  it.each([
    ['garbage after the magic bytes', Buffer.concat([good.subarray(0, 4), Buffer.from('garbage, not deflate data at all')]), 'corrupt gzip data'],
    ['cut short', good.subarray(0, 300), 'corrupt gzip data (unexpected end of file)'],
  ])('%s: one line, exit 2, as a path and from a pipe', (_what, bytes, message) => {
    const file = path.join(tmp.dir, `bad-${bytes.length}.csv.gz`);
    fs.writeFileSync(file, bytes);
    for (const r of [tsnorm([file, '--id', 'device', '--keep', 'ts']), tsnorm(['-', '--id', 'device', '--keep', 'ts'], { input: bytes })]) {
      expect(r.status).toBe(2);
      expect(isOneLineError(r.stderr)).toBe(true);
      expect(r.stderr).toContain(message);
    }
  });
});

describe('determinism', () => {
  it('a pipe that stalls mid-file gives the same bytes as the file', async () => {
    const file = path.join(tmp.dir, 'many.csv');
    const rows = ['id,t,a,b'];
    for (let n = 0; n < 4; n++) for (let t = 0; t < 3000; t++) rows.push(`s${n},${t},${Math.sin(t * 0.37 + n) * 3 + 1e3},${Math.cos(t * 0.11) * 1e-3}`);
    fs.writeFileSync(file, rows.join('\n') + '\n');
    const args = ['--id', 'id', '--keep', 't'];
    const fromFile = tsnorm(['normalize', file, ...args]).stdout;
    const bytes = fs.readFileSync(file);
    const child = startTsnorm(['normalize', '-', '--from', 'csv', ...args]);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdin.write(bytes.subarray(0, 100_003));
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.end(bytes.subarray(100_003));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    expect(Buffer.concat(chunks).equals(fromFile)).toBe(true);
  });
});

describe('determinism of statistics over any delivery', () => {
  const series = (): string => {
    const rows = ['id,t,a'];
    for (let n = 0; n < 2; n++) for (let t = 0; t < 12_000; t++) rows.push(`s${n},${t},${Math.sin(t * 1.3 + n) * 1e3}`);
    return rows.join('\n') + '\n';
  };

  it('a pipe whose first bytes come alone gives the same output and stats as the file', async () => {
    const file = path.join(tmp.dir, 'first-bytes.csv');
    fs.writeFileSync(file, series());
    const args = ['--id', 'id', '--keep', 't', '--track-running-stats'];
    const fromFile = tsnorm(['normalize', file, ...args, '--save-stats', path.join(tmp.dir, 'f1.json')]);
    expect(fromFile.status).toBe(0);
    const child = startTsnorm(['normalize', '-', '--from', 'csv', ...args, '--save-stats', path.join(tmp.dir, 'f2.json')]);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    const bytes = fs.readFileSync(file);
    // The header and part of a row first: the batches must not start from what came first.
    child.stdin.write(bytes.subarray(0, 100));
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.end(bytes.subarray(100));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    expect(Buffer.concat(chunks).equals(fromFile.stdout)).toBe(true);
    expect(fs.readFileSync(path.join(tmp.dir, 'f2.json'), 'utf8')).toBe(fs.readFileSync(path.join(tmp.dir, 'f1.json'), 'utf8'));
  });

  it('gzip input gives the same output as the uncompressed file', () => {
    const file = path.join(tmp.dir, 'plain.csv');
    fs.writeFileSync(file, series());
    fs.writeFileSync(`${file}.gz`, zlib.gzipSync(fs.readFileSync(file)));
    const plain = tsnorm(['normalize', file, '--id', 'id', '--keep', 't']);
    const gz = tsnorm(['normalize', `${file}.gz`, '--id', 'id', '--keep', 't']);
    expect(plain.status).toBe(0);
    expect(gz.status).toBe(0);
    expect(gz.stdout.equals(plain.stdout)).toBe(true);
  });
});

describe('live streams', () => {
  it.each([[[] as string[]], [['--threads', '2', '--off-thread-after', '0']]])('apply writes each row as soon as it is complete %j', async (extra) => {
    const stats = path.join(tmp.dir, 'live.json');
    const quoted = path.join(FIXTURES, 'csv/long_quoted/input.csv');
    expect(tsnorm(['fit', quoted, '--save-stats', stats, '--id', 'device', '--keep', 'ts']).status).toBe(0);
    const child = startTsnorm(['apply', '--stats', stats, '--keep', 'ts', '--channels', 'ax,ay,pressure', '--from', 'csv', ...extra]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const lines = fs
      .readFileSync(quoted, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^(\d+),dev\d,/, '$1,'));
    const head = lines[0]!.replace('device,', '');
    child.stdin.write(`${head}\n`);
    for (let i = 1; i <= 3; i++) {
      const started = Date.now();
      child.stdin.write(`${lines[i]}\n`);
      while (out.split('\n').length - 1 < i + 1) {
        expect(Date.now() - started).toBeLessThan(2000);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const rows = out.trimEnd().split('\n');
    expect(rows[0]).toBe(head);
    expect(rows.length).toBe(4);
    expect(rows[1]!.startsWith(lines[1]!.split(',')[0]!)).toBe(true);
  });

  it('apply stops at a bad row while its input pipe stays open', async () => {
    const stats = path.join(tmp.dir, 'open-pipe.json');
    fs.writeFileSync(path.join(tmp.dir, 'open-pipe.csv'), 'dev,ts,ax\nd0,1,1.5\nd0,2,1\nd0,3,2\n');
    expect(tsnorm(['fit', path.join(tmp.dir, 'open-pipe.csv'), '--id', 'dev', '--keep', 'ts', '--save-stats', stats]).status).toBe(0);
    const child = startTsnorm(['apply', '--stats', stats, '--keep', 'ts', '--channels', 'ax', '--from', 'csv']);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.write('dev,ts,ax\nd0,1,1.5\nd0,2,x\n');
    // stdin is never ended: the error must not wait for more input.
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(2);
    expect(stderr).toMatch(/line 3, column 'ax': 'x' is not a number/);
    child.stdin.destroy();
  });

  it('apply ends quietly when its reader goes away, while its input pipe stays open', async () => {
    const stats = path.join(tmp.dir, 'open-pipe2.json');
    fs.writeFileSync(path.join(tmp.dir, 'open-pipe2.csv'), 'dev,ts,ax\nd0,1,1.5\nd0,2,1\nd0,3,2\n');
    expect(tsnorm(['fit', path.join(tmp.dir, 'open-pipe2.csv'), '--id', 'dev', '--keep', 'ts', '--save-stats', stats]).status).toBe(0);
    const child = startTsnorm(['apply', '--stats', stats, '--keep', 'ts', '--channels', 'ax', '--from', 'csv']);
    child.stdout.once('data', () => {
      // What `| head -1` does: close the reading end, then more rows come.
      child.stdout.destroy();
      setTimeout(() => child.stdin.write('d0,3,1\nd0,4,2\n'), 100);
    });
    child.stdin.write('dev,ts,ax\nd0,1,1.5\nd0,2,1\n');
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    child.stdin.destroy();
  });
});
