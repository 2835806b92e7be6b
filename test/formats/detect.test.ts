import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { TsnormError } from '../../src/errors.js';
import { FORMATS, formatFromPath, parseFormat, sniffFormat } from '../../src/formats/detect.js';
import { type ByteSource, StreamSource, openInput, readFully } from '../../src/io/byte-source.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('formatFromPath', () => {
  it.each([
    ['data.npy', 'npy'],
    ['data.csv', 'csv'],
    ['data.tsv', 'tsv'],
    ['data.tab', 'tsv'],
    ['data.arrow', 'arrow'],
    ['data.feather', 'arrow'],
    ['data.ipc', 'arrow'],
    ['data.arrows', 'arrows'],
    ['/some/folder/run.2024.csv', 'csv'],
    ['./rel/x.npy', 'npy'],
  ] as const)('%s is %s', (file, format) => {
    expect(formatFromPath(file)).toBe(format);
  });

  it('looks through a trailing .gz', () => {
    expect(formatFromPath('data.csv.gz')).toBe('csv');
    expect(formatFromPath('data.tsv.gz')).toBe('tsv');
    expect(formatFromPath('data.npy.gz')).toBe('npy');
    expect(formatFromPath('data.arrows.gz')).toBe('arrows');
    // Only one .gz, and only at the end.
    expect(formatFromPath('data.gz.csv')).toBe('csv');
    expect(formatFromPath('data.csv.gz.gz')).toBeUndefined();
    // .gz alone names no format.
    expect(formatFromPath('data.gz')).toBeUndefined();
  });

  it('ignores case, in the extension and in .gz', () => {
    expect(formatFromPath('DATA.CSV')).toBe('csv');
    expect(formatFromPath('x.Npy')).toBe('npy');
    expect(formatFromPath('x.TAB')).toBe('tsv');
    expect(formatFromPath('x.Feather')).toBe('arrow');
    expect(formatFromPath('x.PARQUET')).toBe('parquet');
    expect(formatFromPath('x.CSV.GZ')).toBe('csv');
    expect(formatFromPath('x.tsv.Gz')).toBe('tsv');
  });

  it('gives undefined for stdin and for extensions naming no format', () => {
    expect(formatFromPath('-')).toBeUndefined();
    for (const file of ['x.orc', 'x.txt', 'x.json', 'x.tar.gz', 'x', 'noext/', 'x.csvx', 'x.npz', 'x.']) {
      expect(formatFromPath(file), file).toBeUndefined();
    }
  });

  it('reads the extension of the file name, not of a folder', () => {
    expect(formatFromPath('folder.csv/data')).toBeUndefined();
    expect(formatFromPath('folder.csv/data.npy')).toBe('npy');
  });
});

describe('parseFormat', () => {
  it('takes each known name, in any case', () => {
    for (const f of ['csv', 'tsv', 'npy', 'arrow', 'arrows', 'parquet'] as const) {
      expect(parseFormat(f, '--from')).toBe(f);
      expect(parseFormat(f.toUpperCase(), '--to')).toBe(f);
    }
    expect([...FORMATS].sort()).toEqual(['arrow', 'arrows', 'csv', 'npy', 'parquet', 'tsv']);
  });

  it('refuses an unknown name, naming the flag and listing the known ones', () => {
    for (const name of ['orc', 'feather', 'tab', '', 'csv.gz', ' csv']) {
      let err: unknown;
      try {
        parseFormat(name, '--to');
      } catch (e) {
        err = e;
      }
      expect(err, `'${name}' was taken`).toBeInstanceOf(TsnormError);
      const message = (err as Error).message;
      expect(message).toBe(`--to: unknown format '${name}' (expected one of csv, tsv, npy, arrow, arrows, parquet)`);
    }
    expect(() => parseFormat('xlsx', '--from')).toThrow(/^--from: unknown format 'xlsx'/);
  });
});

/** A seekable ByteSource over bytes in memory. */
function memorySource(bytes: Uint8Array): ByteSource {
  return {
    name: 'memory',
    size: bytes.length,
    seekable: true,
    async read(buf, offset, length, position) {
      const n = Math.max(0, Math.min(length, bytes.length - position));
      buf.set(bytes.subarray(position, position + n), offset);
      return n;
    },
    async peek(n) {
      return bytes.slice(0, Math.min(n, bytes.length));
    },
    async close() {},
  };
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const NPY_START = [0x93, ...ascii('NUMPY'), 1, 0];

describe('sniffFormat', () => {
  it.each([
    ['NPY magic (\\x93NUMPY)', [...NPY_START, 0x76, 0x00, ...ascii("{'descr'")], 'npy'],
    ['NPY magic, version 2', [0x93, ...ascii('NUMPY'), 2, 0], 'npy'],
    ['the Arrow file magic ARROW1', [...ascii('ARROW1'), 0, 0, 0xff, 0xff, 0xff, 0xff], 'arrow'],
    ['ARROW1 alone', ascii('ARROW1'), 'arrow'],
    ['the Arrow stream continuation marker 0xFFFFFFFF', [0xff, 0xff, 0xff, 0xff, 0x78, 0, 0, 0], 'arrows'],
    ['the marker alone', [0xff, 0xff, 0xff, 0xff], 'arrows'],
    ['the Parquet magic PAR1', [...ascii('PAR1'), 0x15, 0x04], 'parquet'],
    ['PAR without the 1', ascii('PAR,x\n'), 'csv'],
    ['a CSV header', ascii('id,t,c0,c1\n0,0,1.5,2\n'), 'csv'],
    ['tab-separated text', ascii('t\tc0\n0\t1\n'), 'csv'],
    ['nothing at all', [], 'csv'],
    ['part of the NPY magic', [0x93, ...ascii('NUMP')], 'csv'],
    ['NUMPY without its first byte', ascii('NUMPY,x\n'), 'csv'],
    ['ARROW without the 1', ascii('ARROW,2\n'), 'csv'],
    ['arrow1 in lower case', ascii('arrow1,x\n'), 'csv'],
    ['three 0xFF bytes only', [0xff, 0xff, 0xff], 'csv'],
    ['0xFFFFFF then something else', [0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0], 'csv'],
  ] as const)('%s: %s', async (_what, bytes, format) => {
    const src = memorySource(Uint8Array.from(bytes));
    expect(await sniffFormat(src)).toBe(format);
  });

  it('sniffs files opened with openInput, and leaves them readable from the start', async () => {
    const npyBytes = Buffer.from([...NPY_START, 0x76, 0x00]);
    const files: [string, Buffer, string][] = [
      ['a.bin', npyBytes, 'npy'],
      ['b.bin', Buffer.from('ARROW1\0\0rest'), 'arrow'],
      ['c.bin', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0]), 'arrows'],
      ['d.bin', Buffer.from('x,y\n1,2\n'), 'csv'],
      ['e.bin', Buffer.alloc(0), 'csv'],
    ];
    for (const [name, bytes, format] of files) {
      const file = path.join(tmp.dir, name);
      fs.writeFileSync(file, bytes);
      const src = await openInput(file);
      try {
        expect(await sniffFormat(src), name).toBe(format);
        // Sniffing consumed nothing: the whole file is still there from position 0.
        const all = new Uint8Array(bytes.length + 4);
        let got = 0;
        for (;;) {
          const n = await src.read(all, got, all.length - got, got);
          if (n === 0) break;
          got += n;
        }
        expect(Buffer.from(all.subarray(0, got)).equals(bytes), name).toBe(true);
      } finally {
        await src.close();
      }
    }
  });

  it('sniffs a stream whose magic arrives in pieces, and hands the bytes on unconsumed', async () => {
    const cases: [Buffer[], string][] = [
      [[Buffer.from([0x93]), Buffer.from('NU'), Buffer.from('MPY\x01\x00rest')], 'npy'],
      [[Buffer.from('AR'), Buffer.from('ROW1'), Buffer.from('\0\0')], 'arrow'],
      [[Buffer.from([0xff, 0xff]), Buffer.from([0xff]), Buffer.from([0xff, 8, 0, 0, 0])], 'arrows'],
      [[Buffer.from('ARR'), Buffer.from('OWS,1\n')], 'csv'],
    ];
    for (const [chunks, format] of cases) {
      const src = new StreamSource('<pipe>', Readable.from(chunks));
      expect(await sniffFormat(src)).toBe(format);
      const whole = Buffer.concat(chunks);
      const buf = new Uint8Array(whole.length + 8);
      const n = await readFully(src, buf, 0, buf.length, 0);
      expect(Buffer.from(buf.subarray(0, n)).equals(whole), format).toBe(true);
      await src.close();
    }
  });
});
