/**
 * `convert` changes the format or the layout, never a value: a channel column keeps its numeric
 * type (int8 stays int8, uint64 uint64, float32 float32; float16 becomes float32, which holds each
 * of its values), nulls stay null, and an integer that float64 (the type channels travel in)
 * would round is refused where it is, with the way out. The reference for every value is the
 * input itself: what comes out is compared with what went in.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, tsnorm } from '../helpers/cli.js';
import { handMadeNpy, headerDict } from '../helpers/hand-made-npy.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const at = (name: string): string => path.join(tmp.dir, name);

function writeArrow(name: string, columns: Record<string, A.Vector>): string {
  fs.writeFileSync(at(name), A.tableToIPC(new A.Table(columns), 'file'));
  return at(name);
}

const readArrow = (file: string): A.Table => A.tableFromIPC(fs.readFileSync(file));

function ok(args: string[]): string {
  const r = tsnorm(args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.toString();
}

function refused(args: string[]): string {
  const r = tsnorm(args);
  expect(r.status).toBe(2);
  return r.stderr;
}

/** Every integer width at the edges float64 holds, unsigned and signed, floats, and nulls. */
const COLUMNS = {
  id: ['a', 'a', 'b', 'b'],
  i8: { type: new A.Int8(), values: [-128, 127, null, 0] },
  u8: { type: new A.Uint8(), values: [0, 255, 1, 2] },
  i16: { type: new A.Int16(), values: [-32768, 32767, 0, 1] },
  i32: { type: new A.Int32(), values: [-2147483648, 2147483647, null, 5] },
  u32: { type: new A.Uint32(), values: [0, 4294967295, 7, 8] },
  i64: { type: new A.Int64(), values: [-(2n ** 53n), 2n ** 53n, 3n, null] },
  u64: { type: new A.Uint64(), values: [2n ** 53n, 0n, 9n, 10n] },
  f32: { type: new A.Float32(), values: [0.1, -0, 3.4028234663852886e38, null] },
  f64: { type: new A.Float64(), values: [0.1, -5e-324, 1.7976931348623157e308, 2] },
} as const;

function typedTable(name: string): string {
  const { id, ...numeric } = COLUMNS;
  const columns: Record<string, A.Vector> = { id: A.vectorFromArray([...id], new A.Utf8()) };
  for (const [k, c] of Object.entries(numeric)) columns[k] = A.vectorFromArray([...c.values] as never[], c.type as A.DataType);
  return writeArrow(name, columns);
}

/** A value as it reads back from Arrow: bigints of 64-bit columns as the numbers they are. */
const plain = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);
const expected = (values: readonly unknown[]): unknown[] => values.map((v) => (typeof v === 'number' ? v : plain(v)));

describe('convert keeps each channel type', () => {
  const input = typedTable('typed.arrow');
  const { id: _id, ...numeric } = COLUMNS;

  it('Arrow to Arrow: the same types and values, nulls where they were', () => {
    ok(['convert', input, '--id', 'id', '-o', at('typed-out.arrow')]);
    const out = readArrow(at('typed-out.arrow'));
    for (const [name, c] of Object.entries(numeric)) {
      const column = out.getChild(name)!;
      expect(String(column.type), name).toBe(String(c.type));
      const values = Array.from({ length: column.length }, (_, i) => plain(column.get(i)));
      const want = c.type instanceof A.Float32 ? c.values.map((v) => (v === null ? null : Math.fround(Number(v)))) : c.values;
      expect(values, name).toEqual(expected(want));
    }
    expect(Object.is(out.getChild('f32')!.get(1), -0)).toBe(true);
  });

  it('Arrow to the list layout: a list of the same type per instance', () => {
    ok(['convert', input, '--id', 'id', '--output-layout', 'list', '-o', at('typed-list.arrow')]);
    const out = readArrow(at('typed-list.arrow'));
    for (const [name, c] of Object.entries(numeric)) {
      const column = out.getChild(name)!;
      expect(String(column.type), name).toBe(`List<${String(c.type)}>`);
      const want = c.type instanceof A.Float32 ? c.values.map((v) => (v === null ? null : Math.fround(Number(v)))) : c.values;
      const lists = Array.from({ length: column.length }, (_, i) => Array.from(column.get(i) as A.Vector, plain));
      expect(lists, name).toEqual([expected(want.slice(0, 2)), expected(want.slice(2))]);
    }
  });

  it('float16 becomes float32, which holds each of its values', () => {
    const half = writeArrow('half.arrow', { x: A.makeVector(A.makeData({ type: new A.Float16(), length: 3, data: Uint16Array.of(0x3c00, 0x0001, 0x7bff) })) });
    ok(['convert', half, '-o', at('half-out.arrow')]);
    const x = readArrow(at('half-out.arrow')).getChild('x')!;
    expect(String(x.type)).toBe('Float32');
    // 1, the smallest subnormal (2^-24) and the largest finite float16 (65504).
    expect(Array.from(x.toArray() as Float32Array)).toEqual([1, 2 ** -24, 65504]);
  });

  it('to NPY: the input type when every channel has it, else float64', () => {
    const ints = writeArrow('ints.arrow', { a: A.vectorFromArray([1n, -(2n ** 53n)], new A.Int64()), b: A.vectorFromArray([3n, 2n ** 53n], new A.Int64()) });
    ok(['convert', ints, '-o', at('ints.npy')]);
    const bytes = fs.readFileSync(at('ints.npy'));
    expect(bytes.toString('latin1', 10, 60)).toContain("'descr': '<i8'");
    const data = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset + bytes.length - 32, bytes.byteOffset + bytes.length));
    // (C, L) = (2, 2), channel-major: a then b.
    expect(Array.from(data)).toEqual([1n, -(2n ** 53n), 3n, 2n ** 53n]);

    ok(['convert', input, '--id', 'id', '--channels', 'u8,u32', '-o', at('mixed.npy')]);
    expect(fs.readFileSync(at('mixed.npy')).toString('latin1', 10, 60)).toContain("'descr': '<f8'");
  });

  it('NPY to NPY: integer data comes out byte for byte', () => {
    const data = new Uint8Array(BigInt64Array.of(1n, 2n ** 62n, -5n, 2n ** 53n, 0n, -(2n ** 63n) + 2048n).buffer);
    for (const [descr, bytes] of [
      ['<i8', data],
      ['<u2', new Uint8Array(Uint16Array.of(0, 65535, 7, 8, 9, 10).buffer)],
    ] as const) {
      // Values float64 holds only: 2^62 and -2^63 + 2048 are multiples of a power of two.
      const file = at(`in${descr.slice(1)}.npy`);
      fs.writeFileSync(file, handMadeNpy(headerDict('(2, 1, 3)', descr), { data: bytes }));
      ok(['convert', file, '-o', at(`out${descr.slice(1)}.npy`)]);
      expect(fs.readFileSync(at(`out${descr.slice(1)}.npy`))).toEqual(fs.readFileSync(file));
    }
  });

  // A float32 is written as the float64 it widens to: text any reader reads back as that value
  // (the shortest float32 text, 0.1, reads as another number where read as float64).
  it('to CSV: each value as the number it is', () => {
    const csv = ok(['convert', input, '--id', 'id', '--to', 'csv']);
    expect(csv).toBe(
      [
        'id,i8,u8,i16,i32,u32,i64,u64,f32,f64',
        'a,-128,0,-32768,-2147483648,0,-9007199254740992,9007199254740992,0.10000000149011612,0.1',
        'a,127,255,32767,2147483647,4294967295,9007199254740992,0,-0,-5e-324',
        'b,,1,0,,7,3,9,3.4028234663852886e+38,1.7976931348623157e+308',
        'b,0,2,1,5,8,,10,,2',
        '',
      ].join('\n'),
    );
  });
});

describe('an integer float64 would round stops convert where it is', () => {
  const why = 'is an integer beyond 2^53, which a channel (float64) would round, and convert changes no value';

  it('Arrow: row and column, and --keep carries the column through exactly', () => {
    const file = writeArrow('ns.arrow', {
      ts: A.vectorFromArray([1700000000000000000n, 1700000000000000001n], new A.Int64()),
      x: A.vectorFromArray([1, 2], new A.Float64()),
    });
    expect(refused(['convert', file, '-o', at('ns-out.arrow')])).toBe(
      `tsnorm: ${file}: row 1, column 'ts': 1700000000000000001 ${why}: --keep ts carries the column through unchanged\n`,
    );
    expect(fs.existsSync(at('ns-out.arrow'))).toBe(false);
    ok(['convert', file, '--keep', 'ts', '-o', at('ns-out.arrow')]);
    expect(Array.from(readArrow(at('ns-out.arrow')).getChild('ts')!.toArray() as BigInt64Array)).toEqual([1700000000000000000n, 1700000000000000001n]);
  });

  it('Arrow list layout: row, column and step', () => {
    const lists = A.vectorFromArray([[1n, 2n ** 53n + 1n]], new A.List(new A.Field('item', new A.Int64(), true)));
    const file = writeArrow('ns-list.arrow', { x: lists });
    expect(refused(['convert', file, '--layout', 'list', '-o', at('ns-list-out.arrow')])).toBe(
      `tsnorm: ${file}: column 'x', row 0, step 1: 9007199254740993 ${why}: --keep x carries the column through unchanged\n`,
    );
  });

  it('CSV, long and wide: line and column', () => {
    const long = at('ns.csv');
    fs.writeFileSync(long, 'id,n,x\na,1,1\na,-9007199254740993,2\n');
    expect(refused(['convert', long, '--id', 'id', '-o', at('ns-csv.arrow')])).toBe(
      `tsnorm: ${long}: line 3, column 'n': '-9007199254740993' ${why}: --keep n carries the column through unchanged\n`,
    );
    const wide = at('ns-wide.csv');
    fs.writeFileSync(wide, 't0,t1\n1,100000000000000000000001\n');
    expect(refused(['convert', wide, '--layout', 'wide', '-o', at('ns-wide.npy')])).toBe(
      `tsnorm: ${wide}: line 2, column 't1': '100000000000000000000001' ${why}\n`,
    );
    // Normalizing rounds, as torch's conversion to float does: only convert promises values.
    ok(['normalize', long, '--id', 'id', '-o', at('ns-normalized.csv')]);
  });

  it('NPY: the byte of the value', () => {
    const file = at('ns.npy');
    fs.writeFileSync(file, handMadeNpy(headerDict('(1, 2)', '<i8'), { data: new Uint8Array(BigInt64Array.of(1n, 2n ** 62n + 1n).buffer) }));
    expect(refused(['convert', file, '-o', at('ns-out.npy')])).toBe(`tsnorm: ${file}: byte 136: 4611686018427387905 ${why}\n`);
  });

  it('a null in an integer channel has no place in an integer NPY array', () => {
    const file = writeArrow('null-int.arrow', { id: A.vectorFromArray(['a', 'a', 'b', 'b']), x: A.vectorFromArray([1, 2, null, 4], new A.Int32()) });
    expect(refused(['convert', file, '--id', 'id', '-o', at('null-int.npy')])).toBe(
      `tsnorm: ${at('null-int.npy')}: instance 1 (id 'b', from row 2), channel 0, step 0: a missing value, which an integer array (i4) cannot hold: give --dtype float64\n`,
    );
    ok(['convert', file, '--id', 'id', '--dtype', 'float64', '-o', at('null-int.npy')]);
  });
});

describe('a channel taken by default that looks like time (by its name or its values) gets a note', () => {
  const file = at('time.csv');
  fs.writeFileSync(file, 'id,ts,event_time,x\na,1,5,1\na,2,6,3\n');

  it('names the columns and the flag that keeps them', () => {
    const r = tsnorm(['normalize', file, '--id', 'id', '-o', at('time-out.csv')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("tsnorm: note: columns 'ts', 'event_time' look like time but are channels; --keep ts,event_time carries them through unchanged\n");
  });

  it('or whose integers increase within every instance by one step, or at epoch sizes, whatever their names', () => {
    // Two instances of 8 rows: n is epoch milliseconds sampled unevenly, k a sample counter, x a measurement.
    const arrow = writeArrow('counter.arrow', {
      id: A.vectorFromArray(
        Array.from({ length: 16 }, (_, i) => (i < 8 ? 'a' : 'b')),
        new A.Utf8(),
      ),
      n: A.vectorFromArray(
        Array.from({ length: 16 }, (_, i) => 1700000000000n + BigInt(i * 1000 + (i % 3) * 7)),
        new A.Int64(),
      ),
      k: A.vectorFromArray(
        Array.from({ length: 16 }, (_, i) => i % 8),
        new A.Int32(),
      ),
      x: A.vectorFromArray(
        Array.from({ length: 16 }, (_, i) => (i % 3) + i / 8),
        new A.Float64(),
      ),
    });
    const r = tsnorm(['normalize', arrow, '--id', 'id', '-o', at('counter-out.arrow')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("tsnorm: note: columns 'n', 'k' look like time but are channels; --keep n,k carries them through unchanged\n");
    // Not when it falls back in one instance, holds fractions, no instance runs three rows, the
    // table is a toy (fewer than 16 rows), or it rises by uneven steps at small sizes (an ADC
    // warming up, a battery charging, scores before and after).
    const csv = at('counters.csv');
    const table = (header: string, row: (i: number) => string, n: number): void =>
      fs.writeFileSync(csv, `${header}\n${Array.from({ length: n }, (_, i) => row(i)).join('\n')}\n`);
    table('id,back,frac,x', (i) => `${i < 9 ? 'a' : 'b'},${i === 12 ? 0 : i},${i + 0.5},${20 - i}`, 18);
    ok(['normalize', csv, '--id', 'id', '-o', at('counters-out.csv')]);
    table('id,short,x', (i) => `${i >> 1},${i % 2},${i % 5}`, 40);
    ok(['normalize', csv, '--id', 'id', '-o', at('counters-out.csv')]);
    table('id,toy,x', (i) => `a,${i},${i % 5}`, 15);
    ok(['normalize', csv, '--id', 'id', '-o', at('counters-out.csv')]);
    table('device,adc,mv,temp', (i) => `d${Math.floor(i / 10)},${1800 + i * 3 + (i % 4)},${3700 + i * i},${20 + (i % 7) / 10}`, 40);
    ok(['normalize', csv, '--id', 'device', '-o', at('counters-out.csv')]);
    table('pid,score', (i) => `p${i >> 1},${i % 2 === 0 ? 10 + (i >> 1) : 20 + 2 * (i >> 1)}`, 40);
    ok(['normalize', csv, '--id', 'pid', '-o', at('counters-out.csv')]);
  });

  it('says nothing once the user has chosen, or asked for quiet', () => {
    for (const extra of [['--keep', 'ts,event_time'], ['--channels', 'ts,x'], ['-q']])
      ok(['normalize', file, '--id', 'id', '-o', at('time-out.csv'), ...extra]);
    ok(['convert', file, '--id', 'id', '-o', at('time-out.arrow')]);
  });
});

describe('convert keeps a NaN apart from a missing value', () => {
  /** A column's cells: null for a null, 'NaN' for a NaN, else the value. */
  const cells = (t: A.Table, name: string): unknown[] => {
    const v = t.getChild(name)!;
    return Array.from({ length: v.length }, (_, i) => (v.isValid(i) ? (Number.isNaN(v.get(i)) ? 'NaN' : v.get(i)) : null));
  };
  const input = writeArrow('nan-null.arrow', {
    id: A.vectorFromArray(['a', 'a', 'a'], new A.Utf8()),
    x: A.vectorFromArray([1, NaN, null], new A.Float64()),
    y: A.vectorFromArray([NaN, null, 2], new A.Float32()),
  });
  const csv = 'id,x,y\na,1,NaN\na,NaN,\na,,2\n';

  it('Arrow to Arrow (file and stream), float64 and float32', () => {
    for (const to of ['nan-null-out.arrow', 'nan-null-out.arrows']) {
      ok(['convert', input, '--id', 'id', '-o', at(to)]);
      const t = readArrow(at(to));
      expect(cells(t, 'x')).toEqual([1, 'NaN', null]);
      expect(cells(t, 'y')).toEqual(['NaN', null, 2]);
      expect(String(t.getChild('y')!.type)).toBe('Float32');
    }
  });

  it('Arrow to CSV writes NaN and an empty cell; CSV to Arrow and to CSV keep them', () => {
    expect(ok(['convert', input, '--id', 'id', '--to', 'csv'])).toBe(csv);
    const file = at('nan-null.csv');
    fs.writeFileSync(file, csv);
    ok(['convert', file, '--id', 'id', '-o', at('nan-null-back.arrow')]);
    const t = readArrow(at('nan-null-back.arrow'));
    expect(cells(t, 'x')).toEqual([1, 'NaN', null]);
    expect(cells(t, 'y')).toEqual(['NaN', null, 2]);
    expect(ok(['convert', file, '--id', 'id', '--to', 'csv'])).toBe(csv);
    expect(ok(['convert', file, '--id', 'id', '--to', 'tsv'])).toBe(csv.replaceAll(',', '\t'));
  });

  it('reads nan and NAN as NaN, NA and null as missing, in channels and in kept columns', () => {
    const file = at('nan-spellings.csv');
    fs.writeFileSync(file, 'id,x,k\na,2,nan\na,nan,NA\na,NAN,1.5\na,NA,\na,null,2\n');
    ok(['convert', file, '--id', 'id', '--keep', 'k', '-o', at('nan-spellings.arrow')]);
    const t = readArrow(at('nan-spellings.arrow'));
    expect(cells(t, 'x')).toEqual([2, 'NaN', 'NaN', null, null]);
    expect(String(t.getChild('k')!.type)).toBe('Float64');
    expect(cells(t, 'k')).toEqual(['NaN', null, 1.5, null, 2]);
  });

  it('normalize writes both as missing, as before', () => {
    const r = tsnorm(['normalize', input, '--id', 'id', '--to', 'csv']);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('id,x,y\na,,\na,,\na,,\n');
  });
});

describe('found by trying it as a hostile user', () => {
  it('float16 lists are read as their values, not their bits', () => {
    const half = A.makeData({ type: new A.Float16(), length: 4, data: Uint16Array.of(0x3e00, 0x7e00, 0x8000, 0x7c00) });
    const file = writeArrow('half-lists.arrow', {
      id: A.vectorFromArray(['a', 'b'], new A.Utf8()),
      h: A.makeVector(
        A.makeData({ type: new A.List(new A.Field('item', new A.Float16(), true)), length: 2, valueOffsets: Int32Array.of(0, 2, 4), child: half }),
      ),
    });
    // 0x3e00 is 1.5, 0x7e00 NaN, 0x8000 -0, 0x7c00 infinity.
    expect(ok(['convert', file, '--layout', 'list', '--id', 'id', '--to', 'csv'])).toBe('id,h\na,1.5\na,NaN\nb,-0\nb,Infinity\n');
  });

  it('an int64 channel reaches CSV as its integer, every digit', () => {
    const file = writeArrow('big-ints.arrow', { a: A.vectorFromArray([2n ** 60n, -(2n ** 63n), 5n], new A.Int64()) });
    expect(ok(['convert', file, '--to', 'csv'])).toBe(`a\n${2n ** 60n}\n${-(2n ** 63n)}\n5\n`);
  });

  it('a NUL in a column name is refused for CSV, which cannot carry it', () => {
    const file = writeArrow('nul-name.arrow', { 'a\u0000b': A.vectorFromArray([1, 2], new A.Float64()) });
    expect(refused(['convert', file, '-o', at('nul-name.csv')])).toBe(
      `tsnorm: ${at('nul-name.csv')}: column name 'a\\x00b' holds a NUL character, which CSV text cannot carry (readers take it for binary data): write Arrow instead\n`,
    );
    expect(fs.existsSync(at('nul-name.csv'))).toBe(false);
  });

  it('a list layout of no rows is written with its schema', () => {
    const empty = A.vectorFromArray([], new A.FixedSizeList(3, new A.Field('item', new A.Int64(), true)));
    const file = writeArrow('empty-lists.arrow', { id: A.vectorFromArray([], new A.Utf8()), a: empty });
    ok(['convert', file, '--layout', 'list', '--id', 'id', '-o', at('empty-lists-out.arrow')]);
    const out = readArrow(at('empty-lists-out.arrow'));
    expect(out.numRows).toBe(0);
    expect(String(out.getChild('a')!.type)).toBe('FixedSizeList[3]<Int64>');
  });
});

describe('the time note', () => {
  it('knows camelCase names, and quotes for the shell a name that needs it', () => {
    const file = at('time-words.csv');
    fs.writeFileSync(file, 'id,eventTime,event time,x\na,1,5,1\na,2,6,3\n');
    const r = tsnorm(['normalize', file, '--id', 'id', '-o', at('time-words-out.csv')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      "tsnorm: note: columns 'eventTime', 'event time' look like time but are channels; --keep 'eventTime,event time' carries them through unchanged\n",
    );
  });
});

describe('rows CSV could lose', () => {
  it('a row whose one cell is missing is written "" (an empty line would be skipped) and reads back as the null it was', () => {
    const input = writeArrow('one-column.arrow', { a: A.vectorFromArray([1.5, null, 2], new A.Float64()) });
    ok(['convert', input, '-o', at('one-column.csv')]);
    ok(['convert', at('one-column.csv'), '-o', at('one-column-back.arrow')]);
    const back = readArrow(at('one-column-back.arrow'));
    expect(back.getChild('a')!.toJSON()).toEqual(readArrow(input).getChild('a')!.toJSON());
  });

  it("an empty CSV id is the id '' in Arrow, not a null id (which tsnorm refuses)", () => {
    fs.writeFileSync(at('empty-id.csv'), 'id,v\n,1\n,2\nx,3\n');
    ok(['convert', at('empty-id.csv'), '--id', 'id', '-o', at('empty-id.arrow')]);
    expect(readArrow(at('empty-id.arrow')).getChild('id')!.toJSON()).toEqual(['', '', 'x']);
    ok(['convert', at('empty-id.arrow'), '--id', 'id', '-o', at('empty-id-back.arrow')]);
  });

  it('an empty id in a column of integer ids is refused where it is, with the way out, by every command', () => {
    const input = at('empty-int-id.csv');
    fs.writeFileSync(input, 'id,v\n7,1\n7,2\n,3\n,5\n');
    const says = `tsnorm: ${input}: line 4, column 'id': '' is an empty id, which int64 cannot hold (the column's type, from its first rows); --types 'id=utf8' keeps it as text\n`;
    for (const args of [
      ['convert', input, '-o', at('empty-int-id.arrow')],
      ['normalize', input, '-o', at('empty-int-id.out.csv')],
      ['normalize', input, '--to', 'npy', '-o', at('empty-int-id.npy')],
      ['fit', input, '--save-stats', at('empty-int-id.json')],
      ['inspect', input],
    ]) {
      expect(refused([...args, '--id', 'id']), args.join(' ')).toBe(says);
    }
    for (const out of ['empty-int-id.arrow', 'empty-int-id.out.csv', 'empty-int-id.npy', 'empty-int-id.json']) expect(fs.existsSync(at(out)), out).toBe(false);
    ok(['convert', input, '--id', 'id', '--types', 'id=utf8', '-o', at('empty-int-id.arrow')]);
    expect(readArrow(at('empty-int-id.arrow')).getChild('id')!.toJSON()).toEqual(['7', '7', '', '']);
  });
});
