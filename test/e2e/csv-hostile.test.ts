import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';

// CSV/TSV input as people and programs really write it: other encodings, binary data, very long
// lines, odd numbers, duplicated names.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const write = (name: string, bytes: Buffer | string): string => {
  const file = path.join(tmp.dir, name);
  fs.writeFileSync(file, bytes);
  return file;
};

function expectRefused(r: ReturnType<typeof tsnorm>, mention: string): void {
  expect(r.status).toBe(2);
  expect(isOneLineError(r.stderr)).toBe(true);
  expect(r.stderr).toContain(mention);
}

/** The cells of CSV text (no quotes in it), as [row][column] strings. */
const cells = (text: string): string[][] =>
  text
    .trim()
    .split('\n')
    .map((l) => l.split(','));

describe('bytes that are not UTF-8 pass through unchanged', () => {
  it('Latin-1 in the header and in pass-through cells', () => {
    const input = Buffer.from('ts,d\xe9v,ax\n1,caf\xe9,1\n2,x,2\n3,y,4\n', 'latin1');
    const file = write('l1.csv', input);
    const out = path.join(tmp.dir, 'l1.out.csv');
    const r = tsnorm([file, '-o', out, '--keep', 'ts']);
    expect(r.stderr).toBe('');
    const got = fs.readFileSync(out);
    // Every byte but the channel cells is the input's.
    const keep = (b: Buffer) =>
      b
        .toString('latin1')
        .split('\n')
        .map((l) => l.split(',').slice(0, 2).join(','));
    expect(keep(got)).toEqual(keep(input));
    expect(got.includes(Buffer.from([0xe9]))).toBe(true);
    expect(got.includes(Buffer.from('\ufffd'))).toBe(false);
  });

  it('a Latin-1 column name matches the same name typed in UTF-8', () => {
    const file = write('l1b.csv', Buffer.from('d\xe9v,ax\na,1\na,2\nb,3\nb,5\n', 'latin1'));
    const r = tsnorm([file, '--id', 'dév']);
    expect(r.status).toBe(0);
    expect(r.stdout.subarray(0, 4).equals(Buffer.from('d\xe9v,', 'latin1'))).toBe(true);
  });

  it('UTF-8 channel names reach the stats file as text', () => {
    const file = write('utf8.csv', 'id,température\na,1\na,2\nb,3\nb,5\n');
    const stats = path.join(tmp.dir, 'utf8.json');
    expect(tsnorm(['fit', file, '--id', 'id', '--save-stats', stats]).status).toBe(0);
    expect(JSON.parse(fs.readFileSync(stats, 'utf8')).channels).toEqual(['température']);
  });
});

describe('binary data is refused, not parsed', () => {
  it('a NUL byte names its byte offset', () => {
    expectRefused(tsnorm(['-', '--from', 'csv'], { input: Buffer.from('a,b\n1,2\n3,\x004\n', 'latin1') }), 'byte 10: a NUL byte: this is binary data');
  });

  it('/dev/zero read as CSV ends at once', () => {
    expectRefused(tsnorm(['/dev/zero', '--from', 'csv']), '/dev/zero: byte 0: a NUL byte');
  });

  it('Parquet, zip and UTF-16 files are named for what they are', () => {
    expectRefused(tsnorm([write('x.parquet', Buffer.from('PAR1\x15\x04\x15', 'latin1'))]), 'x.parquet: truncated Parquet file');
    expectRefused(
      tsnorm([write('p.csv', Buffer.from('PAR1\x15\x04\x15', 'latin1'))]),
      'p.csv: a Parquet file, read as CSV: name it .parquet or give --from parquet',
    );
    expectRefused(tsnorm([write('x.npz', Buffer.from('PK\x03\x04rest', 'latin1'))]), 'a zip archive');
    expectRefused(tsnorm([write('u16.csv', Buffer.from('\ufeffa,b\n1,2\n', 'utf16le'))]), 'UTF-16 text');
  });
});

describe('very long lines cost time and memory linear in their length', () => {
  it('a 20 MB cell takes about as long per byte as a 2 MB one', () => {
    const time = (bytes: number): number => {
      const file = write(`long-${bytes}.csv`, `id,note,v\na,${'x'.repeat(bytes)},1\na,y,2\n`);
      const start = process.hrtime.bigint();
      const r = tsnorm([file, '--id', 'id', '-o', path.join(tmp.dir, `long-${bytes}.out.csv`)]);
      expect(r.status).toBe(0);
      return Number(process.hrtime.bigint() - start) / 1e9;
    };
    time(1 << 20); // warm the file cache and the runtime
    const small = time(2 << 20);
    const big = time(20 << 20);
    // Quadratic growth made the large case ~100x the small one (a 12.5 MB line took 3.5 s); the
    // start of a process (~0.1 s) dominates the small one, so linear is far under 10x.
    expect(big / small).toBeLessThan(10);
  });

  it('a wide row of a million values is read whole', () => {
    const row = Array.from({ length: 1_000_000 }, (_, i) => (i % 7) - 3).join(',');
    const file = write('wide-long.csv', `${row}\n${row}\n`);
    const r = tsnorm([file, '--layout', 'wide', '--no-header']);
    expect(r.status).toBe(0);
    const lines = r.stdout.toString().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]!.split(',')).toHaveLength(1_000_000);
  });
});

describe('numbers are read strictly', () => {
  it.each([' 0x10', ' 0b101', '\t0o17', '0x1f', '1_000'])('a cell %j is not a number', (cell) => {
    const file = write('hex.csv', `a,v\n1,2\n2,${JSON.stringify(cell).slice(1, -1).replace('\\t', '\t')}\n3,4\n`);
    expectRefused(tsnorm([file, '--channels', 'v']), 'is not a number');
  });

  it('plain decimals with blanks, signs and exponents are numbers', () => {
    const file = write('dec.csv', 'v\n 1.5\n-2e1\n+.5 \n');
    expect(tsnorm([file]).status).toBe(0);
  });
});

describe('column names', () => {
  it('a flag naming a duplicated column is refused', () => {
    const file = write('dup.csv', 'id,v,v\na,1,2\na,2,3\n');
    expectRefused(tsnorm([file, '--id', 'id', '--channels', 'v']), "more than one column is named 'v'");
  });

  it('duplicated names among the channels are refused', () => {
    const file = write('dup2.csv', 'id,v,v\na,1,2\na,2,3\n');
    expectRefused(tsnorm([file, '--id', 'id']), "more than one channel column is named 'v'");
  });

  it('duplicated names among pass-through columns do no harm', () => {
    const file = write('dup3.csv', 'note,note,v\nx,y,1\nx,y,2\n');
    expect(tsnorm([file]).status).toBe(0);
  });
});

describe('delimiters and quoting', () => {
  it('--to tsv quotes only cells that need it in TSV', () => {
    const file = write('q.csv', 'a,b,v\n1,"lab, room 1",3\n2,"say ""hi""",4\n3,"tab\there",5\n');
    const r = tsnorm([file, '--to', 'tsv', '--keep', 'a']);
    expect(r.status).toBe(0);
    const rows = r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    expect(rows.map((x) => x[1])).toEqual(['b', 'lab, room 1', '"say ""hi"""', '"tab']);
    expect(r.stdout.toString()).toContain('"tab\there"');
  });

  it("--delimiter is the input's, --output-delimiter the output's", () => {
    const file = write('semi.csv', 'a;v\n1;2\n2;4\n');
    const same = tsnorm([file, '--delimiter', ';', '--keep', 'a']);
    expect(same.stdout.toString().split('\n')[0]).toBe('a;v');
    const other = tsnorm([file, '--delimiter', ';', '--output-delimiter', ',', '--keep', 'a']);
    expect(cells(other.stdout.toString())[0]).toEqual(['a', 'v']);
    expect(cells(other.stdout.toString()).map((r) => r[0])).toEqual(['a', '1', '2']);
    const tsv = tsnorm([file, '--delimiter', ';', '--to', 'tsv', '--keep', 'a']);
    expect(tsv.stdout.toString().split('\n')[0]).toBe('a\tv');
  });
});

describe('delimiters that cannot work are refused', () => {
  it.each([['€'], ['1'], ['.'], ['-'], ['e'], ['"'], ['ab']])('%j', (d) => {
    const file = write('d.csv', 'a,v\n1,2\n2,3\n');
    expectRefused(tsnorm([file, '--delimiter', d]), '--delimiter: expected one ASCII character');
    expectRefused(tsnorm([file, '--output-delimiter', d]), '--output-delimiter: expected one ASCII character');
  });
});

describe('messages that point at the fix', () => {
  it('quotes in the wrong places say how to write them', () => {
    expectRefused(tsnorm(['-', '--from', 'csv'], { input: 'a,b\n1,5" screen\n' }), 'line 2, cell 2: a quote (") inside a cell that is not quoted');
    expectRefused(tsnorm(['-', '--from', 'csv'], { input: 'a,b\n1,"ab"c\n' }), 'line 2, cell 2: text after the closing quote');
  });

  it('lines ended by a lone CR are named as such', () => {
    expectRefused(tsnorm(['-', '--from', 'csv'], { input: 'a,b\r1,2\r3,4\r' }), 'carriage return (CR) not followed by a line feed');
  });

  it('a ragged row without a header compares with the first row', () => {
    expectRefused(tsnorm(['-', '--from', 'csv', '--no-header'], { input: '1,2\n1,2,3\n' }), 'line 2: 3 cells, expected 2 (as in the first row)');
  });

  it('an instance of one step names its id and line', () => {
    const file = write('one-step.csv', 'id,v\na,1\na,2\nb ,3\nc,4\nc,5\n');
    expectRefused(tsnorm([file, '--id', 'id']), "instance 1 (id 'b ', from line 4): 1 time step");
  });

  it('a huge bad cell is cut short in the message', () => {
    const file = write('huge-cell.csv', `a,v\n1,2\n2,${'z'.repeat(1 << 20)}\n`);
    const r = tsnorm([file, '--channels', 'v']);
    expectRefused(r, `'${'z'.repeat(80)}... (1048576 bytes)' is not a number`);
    expect(r.stderr.length).toBeLessThan(400);
  });

  it('a wide file that ends within an instance hints at --no-header', () => {
    const file = write('ucr.csv', '1,2,3,4\n5,6,7,8\n9,1,2,3\n2,3,4,5\n');
    expectRefused(tsnorm([file, '--layout', 'wide', '--num-channels', '2']), 'add --no-header');
    expect(tsnorm([file, '--layout', 'wide', '--num-channels', '2', '--no-header']).status).toBe(0);
  });

  it('CSV to NPY with unequal lengths names the id', () => {
    const file = write('uneq.csv', 'dev,v\nalpha,1\nalpha,2\nalpha,3\nbeta,1\nbeta,2\n');
    expectRefused(tsnorm([file, '--id', 'dev', '-o', path.join(tmp.dir, 'uneq.npy')]), "instance 1 (id 'beta', from line 5) has 2");
    expect(fs.existsSync(path.join(tmp.dir, 'uneq.npy'))).toBe(false);
  });

  it('a cell holding line breaks and terminal escapes stays on one escaped line', () => {
    const file = write('esc.csv', 'a,v\n1,2\n2,"x\n\x1b[31mred"\n');
    const r = tsnorm([file, '--channels', 'v']);
    expectRefused(r, "'x\\n\\x1b[31mred' is not a number");
    expect(r.stderr).not.toContain('\x1b');
  });
});
