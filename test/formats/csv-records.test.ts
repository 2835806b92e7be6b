import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/cli.js';
import { numberFormatter, parseDecimalAt, parseNumber } from '../../src/formats/csv/numbers.js';
import { RecordSplitter, cellText, recordText } from '../../src/formats/csv/records.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

const cells = (s: RecordSplitter, text: string[]) => {
  const out: string[][] = [];
  for (const t of text) {
    const b = s.push(latin1(t));
    for (let r = 0; r < b.count; r++) out.push(Array.from({ length: b.columns }, (_, i) => cellText(b, r, i)));
  }
  const b = s.finish();
  for (let r = 0; r < b.count; r++) out.push(Array.from({ length: b.columns }, (_, i) => cellText(b, r, i)));
  return out;
};

describe('RecordSplitter', () => {
  it('gives the same records however the text is cut into chunks', () => {
    const text = 'id,t,note\r\na,1,"x, ""y"""\r\na,2,"multi\nline"\r\nb,3,plain\r\n';
    const whole = cells(new RecordSplitter('f', ','), [text]);
    expect(whole).toEqual([
      ['id', 't', 'note'],
      ['a', '1', 'x, "y"'],
      ['a', '2', 'multi\nline'],
      ['b', '3', 'plain'],
    ]);
    for (let cut = 1; cut < text.length; cut++) {
      expect(cells(new RecordSplitter('f', ','), [text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    }
  });

  it('keeps the raw text and the spans of quoted cells', () => {
    const s = new RecordSplitter('f', ',');
    const b = s.push(latin1('a,b\n"q,1",2\n'));
    expect(recordText(b, 1)).toBe('"q,1",2');
    expect(Buffer.from(b.bytes.subarray(b.spans[4]!, b.spans[5]!)).toString()).toBe('"q,1"');
    expect(s.terminator).toBe('\n');
  });

  it('drops blank lines before a quoted record from its raw text, and numbers its line', () => {
    for (const nl of ['\r\n', '\n']) {
      const s = new RecordSplitter('f', ',');
      const b = s.push(latin1(`a,b${nl}1,x${nl}${nl}${nl}2,"y,z"${nl}3,w${nl}`));
      expect(Array.from({ length: b.count }, (_, r) => recordText(b, r))).toEqual(['a,b', '1,x', '2,"y,z"', '3,w']);
      expect(Array.from(b.lines.subarray(0, b.count))).toEqual([1, 2, 5, 6]);
    }
  });

  it('numbers the lines of records that follow a multi-line cell', () => {
    const s = new RecordSplitter('f', ',');
    const b = s.push(latin1('a,b\n"x\ny",1\nz,2\n'));
    expect(Array.from(b.lines.subarray(0, b.count))).toEqual([1, 2, 4]);
  });
});

describe('our splitter against csv-parse on the whole CSV corpus', () => {
  const files = fs.readdirSync(path.join(FIXTURES, 'csv')).map((d) => {
    const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'csv', d, 'case.json'), 'utf8'));
    return path.join(FIXTURES, 'csv', d, meta.input as string);
  });
  it.each(files.map((f) => [path.relative(FIXTURES, f), f]))('%s', (_name, file) => {
    const bytes = fs.readFileSync(file);
    const text = (bytes[0] === 0x1f ? zlib.gunzipSync(bytes) : bytes).toString('utf8').replace(/^\uFEFF/, '');
    const delimiter = file.includes('.tsv') ? '\t' : ',';
    const want = parse(text, { delimiter, skip_empty_lines: true }) as string[][];
    // Fed in pieces of 1000 characters, as reads would cut it.
    const pieces = Array.from({ length: Math.ceil(text.length / 1000) }, (_, i) => text.slice(i * 1000, (i + 1) * 1000));
    expect(cells(new RecordSplitter('f', delimiter), pieces)).toEqual(want);
  });
});

describe('CSV numbers', () => {
  it.each([
    ['1.5', 1.5],
    [' -2e3 ', -2000],
    ['0', 0],
    ['0.25', 0.25],
    ['-0', -0],
    ['inf', Infinity],
    ['-Infinity', -Infinity],
    ['.5', 0.5],
  ])('reads %j', (text, value) => {
    expect(parseNumber(text)).toBe(value);
  });
  it.each(['', 'NaN', 'nan', 'NA'])('reads %j as missing', (text) => {
    expect(parseNumber(text)).toBeNaN();
  });
  it.each(['abc', '0x10', '1,5', '1.2.3', '0b1'])('refuses %j', (text) => {
    expect(parseNumber(text)).toBeUndefined();
  });
  it('writes the shortest text that reads back as the same double, and missing as empty', () => {
    const fmt = numberFormatter();
    for (const x of [0.1, 1 / 3, -1.2247356859083902, 1e-300, 123456789012345680000]) expect(Number(fmt(x))).toBe(x);
    expect(fmt(0.1)).toBe('0.1');
    expect(fmt(NaN)).toBe('');
    expect(numberFormatter(3)(1 / 3)).toBe('0.333');
  });
});

describe('parseDecimalAt (the fast path of CSV reading)', () => {
  it('gives exactly what Number() gives, or declines', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const samples = ['1.5', '-0', '0', '-2e3', '1e22', '1e23', '123456789012345', '1234567890123456', '.5', '5.', '-.5e-3', '1e-22', '00012.50', '-0.0', '+3'];
    for (let t = 0; t < 50_000; t++) {
      const s = (rand() * 10 ** (rand() * 12 - 6)).toFixed(Math.floor(rand() * 14));
      samples.push(s, `-${s}`, `${s}e${Math.floor(rand() * 50) - 25}`);
    }
    let fast = 0;
    for (const s of samples) {
      const x = parseDecimalAt(latin1(s), 0, s.length);
      if (x === undefined) continue;
      fast++;
      expect(Object.is(x, Number(s))).toBe(true);
    }
    expect(fast).toBeGreaterThan(samples.length / 2);
  });

  it.each(['', 'abc', '1.2.3', '1e', 'nan', ' 1', '1 ', '0x10', '1234567890123456', '1e23'])('declines %j', (s) => {
    expect(parseDecimalAt(latin1(s), 0, s.length)).toBeUndefined();
  });

  it('reads inside a longer text', () => {
    expect(parseDecimalAt(latin1('a,12.25,b'), 2, 7)).toBe(12.25);
  });
});
