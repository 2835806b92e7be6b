/**
 * Nothing lost between formats: random typed tables (integers of every width at their extremes,
 * uint64 max, floats with -0, NaN, infinities and subnormals, text with quotes, delimiters, line
 * breaks and any Unicode, empty strings beside nulls, booleans, timestamps of every unit with and
 * without a zone, dates, lists) go through `convert` and back, and every pass-through value comes
 * out identical: its type and its value. The reference is the table itself.
 *
 * - Arrow file -> Arrow stream -> Arrow file: every column, every type.
 * - Arrow -> CSV -> Arrow, with --types naming the type the text stands for (CSV has none): the
 *   types CSV holds as values (64-bit integers, float64, text) come back identical, NaN apart
 *   from null (`NaN` and an empty cell).
 * - The channel (float64, with -0, NaN and nulls) comes back identical, through NPY too, where a
 *   null is a NaN with bits of its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type RawOptions, resolvePlan } from '../../src/cli/resolve.js';
import { run } from '../../src/pipeline/run.js';
import { tempDir } from '../helpers/cli.js';
import { RUNS, settings, timeoutFor } from './support.js';

/** Whole runs through files: a fortieth of the runs, at least 25. */
const TABLE_RUNS = Math.max(25, Math.ceil(RUNS / 40));

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let counter = 0;
const file = (ext: string): string => path.join(tmp.dir, `t${counter++}${ext}`);

async function convert(input: string, output: string, raw: RawOptions = {}): Promise<void> {
  await run(resolvePlan('convert', [input], { ...raw, output }));
}

// ---------------------------------------------------------------------------------------------
// Random typed columns

const int = (bits: number, signed: boolean): fc.Arbitrary<bigint> => {
  const lo = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const hi = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  // The extremes and their neighbours, often; anything in between otherwise.
  return fc.oneof(fc.constantFrom(lo, hi, lo + 1n, hi - 1n, 0n, signed ? -1n : 1n), fc.bigInt({ min: lo, max: hi }));
};

const float64 = fc.oneof(fc.constantFrom(-0, 0, Infinity, -Infinity, NaN, 5e-324, -5e-324, 2.2250738585072014e-308, Number.MAX_VALUE, 0.1, 1 / 3), fc.double());
const float32 = float64.map(Math.fround);

/** Text that CSV must quote or escape, and any Unicode (well-formed: Arrow's utf8 is UTF-8). */
const text = fc.oneof(
  fc.constantFrom('', ' ', '"', '""', ',', '\n', '\r\n', 'a,b', 'say "hi"', '\t', 'NaN', 'null', 'NA', '1e5', '007', '-0', '\uFEFFbom', 'é', '𝄞', '\u0000'),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', ' ', 'é', '\t'), maxLength: 8 }),
);

interface ColumnKind {
  readonly name: string;
  readonly type: () => A.DataType;
  readonly value: fc.Arbitrary<unknown>;
  /** The --types that makes the CSV text this value again, when CSV holds the type's values. */
  readonly csvType?: 'int64' | 'uint64' | 'float64' | 'utf8';
}

const UNITS = [A.TimeUnit.SECOND, A.TimeUnit.MILLISECOND, A.TimeUnit.MICROSECOND, A.TimeUnit.NANOSECOND];

const KINDS: readonly ColumnKind[] = [
  { name: 'int8', type: () => new A.Int8(), value: int(8, true).map(Number), csvType: 'int64' },
  { name: 'int16', type: () => new A.Int16(), value: int(16, true).map(Number), csvType: 'int64' },
  { name: 'int32', type: () => new A.Int32(), value: int(32, true).map(Number), csvType: 'int64' },
  { name: 'int64', type: () => new A.Int64(), value: int(64, true), csvType: 'int64' },
  { name: 'uint8', type: () => new A.Uint8(), value: int(8, false).map(Number), csvType: 'int64' },
  { name: 'uint32', type: () => new A.Uint32(), value: int(32, false).map(Number), csvType: 'int64' },
  { name: 'uint64', type: () => new A.Uint64(), value: int(64, false), csvType: 'uint64' },
  { name: 'float32', type: () => new A.Float32(), value: float32 },
  { name: 'float64', type: () => new A.Float64(), value: float64, csvType: 'float64' },
  { name: 'utf8', type: () => new A.Utf8(), value: text, csvType: 'utf8' },
  { name: 'bool', type: () => new A.Bool(), value: fc.boolean() },
  ...UNITS.flatMap((unit) =>
    [undefined, 'UTC', 'America/New_York'].map(
      (zone): ColumnKind => ({
        name: `ts_${unit}_${zone ?? 'naive'}`,
        type: () => new A.Timestamp(unit, zone ?? null),
        // apache-arrow takes timestamps as milliseconds (numbers): integral ones, within Date's range.
        value: fc.integer({ min: -8.64e12, max: 8.64e12 }).map((ms) => ms * 1000),
      }),
    ),
  ),
  { name: 'date32', type: () => new A.DateDay(), value: fc.integer({ min: -1e8, max: 1e8 }).map((days) => days * 86400000) },
  {
    name: 'list_int32',
    type: () => new A.List(new A.Field('item', new A.Int32(), true)),
    value: fc.array(fc.option(int(32, true).map(Number)), { maxLength: 4 }),
  },
];

interface TableModel {
  /** Rows where a new record batch begins (the writer gathers small batches into one). */
  readonly cuts?: number[];
  readonly ids: number[];
  readonly x: (number | null)[];
  readonly columns: { kind: ColumnKind; values: unknown[] }[];
}

/** Rows in instances of two or more, a channel x, and one to four pass-through columns with nulls. */
const tableModel: fc.Arbitrary<TableModel> = fc.integer({ min: 1, max: 12 }).chain((rows) =>
  fc.record({
    ids: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: rows, maxLength: rows }).map((steps) => {
      let id = 0;
      return steps.map((s, r) => (r > 0 && s === 0 ? ++id : id));
    }),
    x: fc.array(fc.option(float64, { freq: 5 }), { minLength: rows, maxLength: rows }),
    cuts: fc.array(fc.nat(12), { maxLength: 6 }),
    columns: fc
      .uniqueArray(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 4, selector: (k) => k.name })
      .chain((kinds) =>
        fc.tuple(
          ...kinds.map((kind) => fc.array(fc.option(kind.value, { freq: 5 }), { minLength: rows, maxLength: rows }).map((values) => ({ kind, values }))),
        ),
      ),
  }),
);

function arrowTable(m: TableModel): A.Table {
  const columns: Record<string, A.Vector> = {
    id: A.vectorFromArray(
      m.ids.map((i) => `id ${i}`),
      new A.Utf8(),
    ),
    x: A.vectorFromArray(m.x, new A.Float64()),
  };
  for (const { kind, values } of m.columns) columns[kind.name] = A.vectorFromArray(values as never[], kind.type());
  const table = new A.Table(columns);
  const at = [...new Set([0, ...(m.cuts ?? []).map((c) => c % table.numRows), table.numRows])].sort((a, b) => a - b);
  return new A.Table(at.slice(1).map((end, k) => table.slice(at[k]!, end).batches[0]!));
}

/** A column's cells, each as a comparable value: bigints as text, -0 apart from 0, NaN as 'NaN'. */
function cells(v: A.Vector): unknown[] {
  const plain = (x: unknown): unknown => {
    if (typeof x === 'bigint') return `${x}n`;
    if (typeof x === 'number') return Object.is(x, -0) ? '-0' : Number.isNaN(x) ? 'NaN' : x;
    if (x instanceof A.Vector) return Array.from(x.toArray() as ArrayLike<unknown>, plain);
    if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<unknown>, plain);
    return x;
  };
  return Array.from({ length: v.length }, (_, i) => (v.isValid(i) ? plain(v.get(i)) : null));
}

function expectSameColumns(got: A.Table, want: A.Table, names: readonly string[]): void {
  for (const name of names) {
    const g = got.getChild(name);
    expect(g, name).not.toBeNull();
    expect(String(g!.type), name).toBe(String(want.getChild(name)!.type));
    expect(cells(g!), name).toEqual(cells(want.getChild(name)!));
  }
}

describe('random typed tables', () => {
  it(
    'Arrow file -> Arrow stream -> Arrow file: every column with its type and every value',
    async () => {
      await fc.assert(
        fc.asyncProperty(tableModel, async (m) => {
          const table = arrowTable(m);
          const input = file('.arrow');
          fs.writeFileSync(input, A.tableToIPC(table, 'file'));
          const stream = file('.arrows');
          const back = file('.arrow');
          const names = m.columns.map((c) => c.kind.name);
          await convert(input, stream, { id: 'id', keep: names.join(',') });
          await convert(stream, back, { id: 'id', keep: names.join(',') });
          const got = A.tableFromIPC(fs.readFileSync(back));
          expectSameColumns(got, table, ['id', ...names]);
          expect(cells(got.getChild('x')!)).toEqual(cells(table.getChild('x')!));
        }),
        settings(TABLE_RUNS),
      );
    },
    timeoutFor(200, TABLE_RUNS),
  );

  it(
    'Arrow -> CSV -> Arrow: the types CSV holds come back identical, with --types',
    async () => {
      await fc.assert(
        fc.asyncProperty(tableModel, async (m) => {
          const held = m.columns.filter((c) => c.kind.csvType !== undefined);
          fc.pre(held.length > 0);
          const table = arrowTable({ ...m, columns: held });
          const input = file('.arrow');
          fs.writeFileSync(input, A.tableToIPC(table, 'file'));
          const csv = file('.csv');
          const back = file('.arrow');
          const names = held.map((c) => c.kind.name);
          // A NUL has no place in CSV text: the writer refuses it, naming it.
          const nul = held.find((c) => c.values.some((v) => typeof v === 'string' && v.includes('\0')));
          if (nul) {
            await expect(convert(input, csv, { id: 'id', keep: names.join(',') })).rejects.toThrow(`column '${nul.kind.name}'`);
            expect(fs.existsSync(csv)).toBe(false);
            return;
          }
          await convert(input, csv, { id: 'id', keep: names.join(',') });
          await convert(csv, back, { id: 'id', keep: names.join(','), channels: 'x', types: held.map((c) => `${c.kind.name}=${c.kind.csvType}`).join(',') });
          const got = A.tableFromIPC(fs.readFileSync(back));
          for (const { kind, values } of held) {
            const column = got.getChild(kind.name)!;
            // Integers narrower than 64 bits come back as int64, the type CSV integers get.
            expect(String(column.type), kind.name).toBe(
              kind.csvType === 'int64' ? 'Int64' : kind.csvType === 'uint64' ? 'Uint64' : kind.csvType === 'float64' ? 'Float64' : 'Utf8',
            );
            const want = values.map((v) => (typeof v === 'number' && kind.csvType !== 'float64' ? BigInt(v) : v));
            expect(cells(column), kind.name).toEqual(cells(A.vectorFromArray(want as never[], column.type as A.DataType)));
          }
          // The channel: NaN apart from null, -0 with its sign.
          expect(cells(got.getChild('x')!)).toEqual(cells(table.getChild('x')!));
        }),
        settings(TABLE_RUNS),
      );
    },
    timeoutFor(200, TABLE_RUNS),
  );

  it(
    'the channel through NPY and back: every value, -0, NaN and nulls included',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.option(float64, { freq: 5 }), { minLength: 1, maxLength: 30 }), async (x) => {
          const input = file('.arrow');
          fs.writeFileSync(input, A.tableToIPC(new A.Table({ x: A.vectorFromArray(x, new A.Float64()) }), 'file'));
          const npy = file('.npy');
          const back = file('.arrow');
          await convert(input, npy);
          await convert(npy, back);
          // numpy reads a null as nan; tsnorm reads it back as a null.
          const numpy = npyFloat64(fs.readFileSync(npy));
          expect(numpy.map((v) => (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v))).toEqual(
            x.map((v) => (v === null || Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v)),
          );
          expect(cells(A.tableFromIPC(fs.readFileSync(back)).getChild('c0')!)).toEqual(
            x.map((v) => (v === null ? null : Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v)),
          );
        }),
        settings(TABLE_RUNS),
      );
    },
    timeoutFor(100, TABLE_RUNS),
  );
});

/** The values of a float64 NPY file (C order, little-endian), as numpy reads them. */
function npyFloat64(bytes: Buffer): number[] {
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  expect(header).toContain("'descr': '<f8'");
  const body = bytes.subarray(10 + headerLength);
  return Array.from({ length: body.length / 8 }, (_, i) => body.readDoubleLE(i * 8));
}
