/**
 * The types of CSV columns that pass through to a typed output (Arrow): every value is held
 * exactly or refused with its line, never wrapped or rounded; --types declares them. The
 * reference for each value is the CSV's own text (as a BigInt, a number or the string), read back
 * from the Arrow file by apache-arrow.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, tsnorm } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

let files = 0;
function csv(text: string): string {
  const file = path.join(tmp.dir, `t${files++}.csv`);
  fs.writeFileSync(file, text);
  return file;
}

/** Rows `id,ts,x` with small integer ts, enough of them (over 1 MB) that a last row is not in the first rows read. */
function longFile(lastTs: string, lastId = 'z'): string {
  const rows = Array.from({ length: 120_000 }, (_, i) => `a${Math.floor(i / 1000)},${i},${i % 7}`);
  return csv(`id,ts,x\n${rows.join('\n')}\n${lastId},${lastTs},1\n${lastId},${lastTs},2\n`);
}

/** The same with integer ids, the last one `lastId`. */
function numericIds(lastId: string): string {
  const rows = Array.from({ length: 120_000 }, (_, i) => `${Math.floor(i / 1000)},${i},${i % 7}`);
  return csv(`id,ts,x\n${rows.join('\n')}\n${lastId},5,1\n${lastId},6,2\n`);
}

function toArrow(input: string, ...flags: string[]): { status: number | null; stderr: string; table?: A.Table; out: string } {
  const out = path.join(tmp.dir, `o${files++}.arrow`);
  const r = tsnorm(['convert', input, '-o', out, ...flags]);
  return { status: r.status, stderr: r.stderr, out, ...(r.status === 0 ? { table: A.tableFromIPC(fs.readFileSync(out)) } : {}) };
}

const typeOf = (t: A.Table, name: string): string => String(t.schema.fields.find((f) => f.name === name)!.type);
const valuesOf = (t: A.Table, name: string): unknown[] => Array.from(t.getChild(name)!.toArray() as ArrayLike<unknown>);

describe('the type a pass-through column gets from its first rows holds each of their values exactly', () => {
  const columns: [string, string[], string][] = [
    ['small', ['1', '-2', '3'], 'Int64'],
    ['nanos', ['1700000000000000001', '1700000000000000002', '-1700000000000000003'], 'Int64'],
    ['above_int64', ['9223372036854775808', '18446744073709551615', '0'], 'Uint64'],
    ['signed_and_above', ['-1', '9223372036854775808', '0'], 'Utf8'],
    ['beyond_uint64', ['18446744073709551616', '1', '2'], 'Utf8'],
    ['fraction_and_big', ['1.5', '9007199254740993', '2'], 'Utf8'],
    ['fraction_and_small', ['1.5', '9007199254740992', '2'], 'Float64'],
    ['text', ['a', 'b', 'c'], 'Utf8'],
  ];
  it.each(columns)('%s: %j -> %s', (name, cells, type) => {
    const input = csv(`id,${name},x\n${cells.map((c, i) => `i,${c},${i}`).join('\n')}\n`);
    const { status, stderr, table } = toArrow(input, '--id', 'id', '--keep', name);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(typeOf(table!, name)).toBe(type);
    const got = valuesOf(table!, name);
    const want = type === 'Utf8' ? cells : type === 'Float64' ? cells.map(Number) : cells.map((c) => BigInt(c));
    expect(got.map((v) => (typeof v === 'number' && type !== 'Float64' ? BigInt(v) : v))).toEqual(want);
  });
});

describe('a later cell the type cannot hold is refused with its line, never wrapped or rounded', () => {
  const refusals: [string, () => string, string[], string][] = [
    [
      'above int64',
      () => longFile('18446744073709551617'),
      ['--id', 'id', '--keep', 'ts'],
      "line 120002, column 'ts': '18446744073709551617' is beyond int64 (the column's type, from its first rows); --types 'ts=utf8' keeps it as text",
    ],
    [
      'below int64',
      () => longFile('-9223372036854775809'),
      ['--id', 'id', '--keep', 'ts'],
      "line 120002, column 'ts': '-9223372036854775809' is beyond int64 (the column's type, from its first rows); --types 'ts=utf8' keeps it as text",
    ],
    [
      'an id beyond int64',
      () => numericIds('18446744073709551616'),
      ['--id', 'id'],
      "line 120002, column 'id': '18446744073709551616' is beyond int64 (the column's type, from its first rows); --types 'id=utf8' keeps it as text",
    ],
    [
      'negative, declared uint64',
      () => longFile('-1'),
      ['--id', 'id', '--keep', 'ts', '--types', 'ts=uint64'],
      "line 120002, column 'ts': '-1' is negative, which uint64 cannot hold (the column's type, from --types); --types 'ts=utf8' keeps it as text",
    ],
    [
      'an integer float64 would round',
      () => csv(`id,ts,x\n${Array.from({ length: 120_000 }, (_, i) => `a,${i}.5,${i % 7}`).join('\n')}\na,1700000000000000001,1\n`),
      ['--id', 'id', '--keep', 'ts'],
      "line 120002, column 'ts': '1700000000000000001' cannot be held exactly by float64, which would round it (the column's type, from its first rows); --types 'ts=utf8' keeps it as text",
    ],
  ];
  it.each(refusals)('%s', (_what, make, flags, message) => {
    const input = make();
    const { status, stderr, out } = toArrow(input, ...flags);
    expect(stderr).toBe(`tsnorm: ${input}: ${message}\n`);
    expect(status).toBe(2);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('an integer beyond float64 altogether in a float64 column is refused too', () => {
    const input = csv(`id,t,x\n1,1.5,1\n1,1${'0'.repeat(400)},2\n`);
    const { status, stderr } = toArrow(input, '--id', 'id', '--types', 't=float64');
    expect(stderr).toBe(
      `tsnorm: ${input}: line 3, column 't': '1${'0'.repeat(79)}... (401 bytes)' cannot be held exactly by float64, which would round it (the column's type, from --types); --types 't=utf8' keeps it as text\n`,
    );
    expect(status).toBe(2);
  });

  it('to CSV the same file passes through as the text it is', () => {
    const input = longFile('18446744073709551617');
    const r = tsnorm(['convert', input, '--id', 'id', '--keep', 'ts', '--to', 'csv']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(
      r.stdout
        .toString()
        .trimEnd()
        .split('\n')
        .slice(-2)
        .map((row) => row.split(',')[1]),
    ).toEqual(['18446744073709551617', '18446744073709551617']);
  });
});

describe('--types', () => {
  it('declares a column text, kept exactly, or uint64', () => {
    const input = longFile('18446744073709551617');
    const asText = toArrow(input, '--id', 'id', '--keep', 'ts', '--types', 'ts=utf8');
    expect(asText.stderr).toBe('');
    expect(typeOf(asText.table!, 'ts')).toBe('Utf8');
    expect(valuesOf(asText.table!, 'ts').slice(-2)).toEqual(['18446744073709551617', '18446744073709551617']);
    const big = longFile('18446744073709551615');
    const asUnsigned = toArrow(big, '--id', 'id', '--types', 'ts=uint64');
    expect(asUnsigned.stderr).toBe('');
    expect(typeOf(asUnsigned.table!, 'ts')).toBe('Uint64');
    expect(valuesOf(asUnsigned.table!, 'ts').slice(-2)).toEqual([18446744073709551615n, 18446744073709551615n]);
    // A column named in --types passes through: x is the only channel.
    expect(asUnsigned.table!.schema.fields.map((f) => f.name)).toEqual(['id', 'ts', 'x']);
    const ids = toArrow(numericIds('18446744073709551616'), '--id', 'id', '--types', 'id=utf8');
    expect(ids.stderr).toBe('');
    expect(valuesOf(ids.table!, 'id').slice(-2)).toEqual(['18446744073709551616', '18446744073709551616']);
  });

  const small = () => csv('id,ts,x\na,1,1\na,2,2\n');
  const refused: [string, () => string[], string][] = [
    [
      'an unknown type',
      () => ['convert', small(), '--id', 'id', '--types', 'ts=int32', '--to', 'arrow'],
      "--types ts: expected one of int64, uint64, float64, utf8, got 'int32'",
    ],
    ['no type', () => ['convert', small(), '--id', 'id', '--types', 'ts', '--to', 'arrow'], "--types: expected COLUMN=TYPE[,COLUMN=TYPE...], got 'ts'"],
    ['a column twice', () => ['convert', small(), '--id', 'id', '--types', 'ts=utf8,ts=int64', '--to', 'arrow'], "--types: column 'ts' is named twice"],
    [
      'the wide layout',
      () => ['convert', small(), '--layout', 'wide', '--types', 'ts=utf8', '--to', 'arrow'],
      '--types goes with the long layout (--layout wide passes no column through)',
    ],
  ];
  it.each(refused)('refuses %s', (_what, args, message) => {
    const r = tsnorm(args());
    expect(r.stderr).toBe(`tsnorm: ${message}\n`);
    expect(r.status).toBe(2);
  });

  it('refuses a column the file does not have, and a channel', () => {
    const input = small();
    const unknown = tsnorm(['convert', input, '--id', 'id', '--types', 'when=utf8', '--to', 'arrow']);
    expect(unknown.stderr).toBe(`tsnorm: ${input}: --types: no column 'when'; the columns are: id, ts, x\n`);
    expect(unknown.status).toBe(2);
    const channel = tsnorm(['convert', input, '--id', 'id', '--channels', 'x', '--types', 'x=utf8', '--to', 'arrow']);
    expect(channel.stderr).toBe(`tsnorm: ${input}: --types: 'x' is a channel (--types is for the columns that pass through)\n`);
    expect(channel.status).toBe(2);
  });

  it('is refused for Arrow input, whose columns are typed already', () => {
    const arrow = toArrow(small(), '--id', 'id').out;
    const r = tsnorm(['convert', arrow, '--id', 'id', '--types', 'ts=utf8', '--to', 'csv']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`tsnorm: --types: for CSV/TSV input, and ${arrow} is ARROW\n`);
  });
});
