/**
 * What Arrow input keeps on its way through. Ids are compared as the values they are: a
 * dictionary's equal values are one id whatever their indices, NaN float ids are one id, and a
 * dictionary value that is null is a null id (the reference for each: the same table with the ids
 * written as plain strings, whose instances are found by comparing text). Schema and field
 * metadata reach an Arrow output as they were.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir, tsnorm } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function write(name: string, columns: Record<string, A.Vector>): string {
  const file = path.join(tmp.dir, name);
  fs.writeFileSync(file, A.tableToIPC(new A.Table(columns), 'file'));
  return file;
}

/** A dictionary-encoded utf8 vector: `values` (null for a null entry) indexed by `indices`. */
function dictionary(values: (string | null)[], indices: number[]): A.Vector {
  const bytes = Buffer.from(values.map((v) => v ?? '').join(''), 'utf8');
  const offsets = Int32Array.from([
    0,
    ...values.map((_, i) =>
      Buffer.byteLength(
        values
          .slice(0, i + 1)
          .map((v) => v ?? '')
          .join(''),
        'utf8',
      ),
    ),
  ]);
  const validity = Uint8Array.from({ length: Math.ceil(values.length / 8) }, (_, b) =>
    values.slice(b * 8, b * 8 + 8).reduce((m, v, k) => (v === null ? m : m | (1 << k)), 0),
  );
  const nulls = values.filter((v) => v === null).length;
  const dict = A.makeData({
    type: new A.Utf8(),
    length: values.length,
    nullCount: nulls,
    nullBitmap: nulls ? validity : null,
    valueOffsets: offsets,
    data: bytes,
  });
  return A.makeVector(
    A.makeData({
      type: new A.Dictionary(new A.Utf8(), new A.Int32()),
      length: indices.length,
      nullCount: 0,
      data: Int32Array.from(indices),
      dictionary: A.makeVector(dict),
    }),
  );
}

const normalized = (file: string): string => {
  const r = tsnorm(['normalize', file, '--id', 'id', '--to', 'csv']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.toString();
};

describe('Arrow ids compared as values', () => {
  const x = [1, 2, 3, 5, 1, 4];

  it("a dictionary's equal values are one id, whatever their indices", () => {
    const dict = write('dict.arrow', { id: dictionary(['a', 'a', 'b'], [0, 0, 1, 1, 2, 2]), x: A.vectorFromArray(x, new A.Float64()) });
    const plain = write('dict-plain.arrow', { id: A.vectorFromArray(['a', 'a', 'a', 'a', 'b', 'b'], new A.Utf8()), x: A.vectorFromArray(x, new A.Float64()) });
    const out = normalized(dict);
    expect(out).toBe(normalized(plain));
    expect(out.split('\n').filter((row) => row.startsWith('a,'))).toHaveLength(4);
  });

  it('an equal value after other ids is still refused as an instance split in two', () => {
    const dict = write('dict-split.arrow', { id: dictionary(['a', 'b', 'a'], [0, 1, 2, 2, 2, 2]), x: A.vectorFromArray(x, new A.Float64()) });
    const r = tsnorm(['normalize', dict, '--id', 'id', '--to', 'csv']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `tsnorm: ${dict}: row 2: id 'a' appears again after other ids (its rows began at row 0); the rows of one instance must be contiguous (sort by id first)\n`,
    );
  });

  it('NaN float ids are one id (written nan, as pyarrow writes it)', () => {
    const nan = write('nan.arrow', { id: A.vectorFromArray([NaN, NaN, NaN, 1, 1, 1], new A.Float64()), x: A.vectorFromArray(x, new A.Float64()) });
    const plain = write('nan-plain.arrow', {
      id: A.vectorFromArray(['nan', 'nan', 'nan', '1', '1', '1'], new A.Utf8()),
      x: A.vectorFromArray(x, new A.Float64()),
    });
    expect(normalized(nan)).toBe(normalized(plain));
  });

  it('a dictionary value that is null is a null id, refused as one', () => {
    const file = write('dict-null.arrow', { id: dictionary([null, 'b'], [1, 1, 0, 0, 1, 1]), x: A.vectorFromArray(x, new A.Float64()) });
    const r = tsnorm(['normalize', file, '--id', 'id', '--to', 'csv']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`tsnorm: ${file}: row 2: the --id column 'id' is null: every row needs an id\n`);
  });
});

describe('Arrow to Arrow keeps the metadata', () => {
  it('of the schema and of each field, in the long and list layouts, file and stream', () => {
    const schemaMeta = new Map([
      ['source', 'test'],
      ['pandas', '{"columns": []}'],
    ]);
    const fields = [
      new A.Field('id', new A.Utf8(), true, new Map([['role', 'device']])),
      new A.Field('t', new A.Int64(), true, new Map([['unit', 'ms']])),
      new A.Field('x', new A.Float64(), true, new Map([['unit', 'm/s2']])),
    ];
    const schema = new A.Schema(fields, schemaMeta);
    const data = A.makeData({
      type: new A.Struct(fields),
      length: 4,
      children: [
        A.vectorFromArray(['a', 'a', 'b', 'b'], new A.Utf8()).data[0]!,
        A.vectorFromArray([1n, 2n, 3n, 4n], new A.Int64()).data[0]!,
        A.vectorFromArray([1, 2, 3, 5], new A.Float64()).data[0]!,
      ],
    });
    const input = path.join(tmp.dir, 'meta.arrow');
    fs.writeFileSync(input, A.tableToIPC(new A.Table([new A.RecordBatch(schema, data)]), 'file'));
    for (const [out, extra] of [
      ['meta.out.arrow', []],
      ['meta.out.arrows', []],
      ['meta.list.arrow', ['--output-layout', 'list']],
    ] as const) {
      const file = path.join(tmp.dir, out);
      const r = tsnorm(['normalize', input, '--id', 'id', '--keep', 't', '-o', file, ...extra]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const got = A.tableFromIPC(fs.readFileSync(file)).schema;
      expect(got.metadata).toEqual(schemaMeta);
      expect(got.fields.map((f) => [f.name, f.metadata])).toEqual(fields.map((f) => [f.name, f.metadata]));
    }
  });
});

describe('the list layout keeps its channels value type', () => {
  it('float32 lists stay float32 lists (the float64 result rounded once), float64 lists float64', () => {
    const series = [
      [1.5, 2.25, 3.125, 9],
      [4, 5.5, 7.75],
    ];
    const list = (element: A.Float32 | A.Float64) => A.vectorFromArray(series, new A.List(new A.Field('item', element, true)));
    const nested = (element: A.Float32 | A.Float64) =>
      A.vectorFromArray(
        series.map((s) => [s]),
        new A.List(new A.Field('item', new A.List(new A.Field('item', element, true)), true)),
      );
    const item = () => A.vectorFromArray(['a', 'b'], new A.Utf8());
    for (const make of [list, nested]) {
      const f32 = write('l32.arrow', { item: item(), target: make(new A.Float32()) });
      const f64 = write('l64.arrow', { item: item(), target: make(new A.Float64()) });
      const out = (input: string) => {
        const file = `${input}.out.arrow`;
        const r = tsnorm(['normalize', input, '--layout', 'list', '-o', file]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        return A.tableFromIPC(fs.readFileSync(file)).getChild('target')!;
      };
      const [got32, got64] = [out(f32), out(f64)];
      expect(String(got32.type)).toBe(String(make(new A.Float32()).type));
      expect(String(got64.type)).toBe(String(make(new A.Float64()).type));
      const flat = (v: A.Vector): number[] =>
        Array.from(v.toArray() as ArrayLike<A.Vector>, (row) =>
          Array.from(row as Iterable<unknown>, (x) => (x instanceof A.Vector ? Array.from(x as Iterable<number>) : [x as number])).flat(),
        ).flat();
      expect(flat(got32)).toEqual(flat(got64).map(Math.fround));
    }
  });
});

describe('the list layout keeps its list types', () => {
  const float32 = (values: number[]) => A.makeData({ type: new A.Float32(), length: values.length, data: Float32Array.from(values) });
  const field = (child: A.Data) => new A.Field('item', child.type, true);
  // Two instances of three steps (one channel each), and the same as two channels of three.
  const steps = [1.5, 2.25, 9, 4, 5.5, 7.75];
  const kinds = {
    large_list: () =>
      A.makeVector(
        A.makeData({ type: new A.LargeList(field(float32(steps))), length: 2, valueOffsets: BigInt64Array.of(0n, 3n, 6n), child: float32(steps) } as never),
      ),
    fixed_size_list: () => A.makeVector(A.makeData({ type: new A.FixedSizeList(3, field(float32(steps))), length: 2, child: float32(steps) })),
    'large_list of fixed_size_list': () => {
      const inner = A.makeData({ type: new A.FixedSizeList(3, field(float32(steps))), length: 2, child: float32(steps) });
      return A.makeVector(A.makeData({ type: new A.LargeList(field(inner)), length: 1, valueOffsets: BigInt64Array.of(0n, 2n), child: inner } as never));
    },
  };
  // The reference: the same series as plain list<float32>.
  const plain = (nested: boolean) =>
    nested
      ? A.vectorFromArray([[steps.slice(0, 3), steps.slice(3)]], new A.List(new A.Field('item', new A.List(new A.Field('item', new A.Float32(), true)), true)))
      : A.vectorFromArray([steps.slice(0, 3), steps.slice(3)], new A.List(new A.Field('item', new A.Float32(), true)));
  const values = (v: A.Vector): unknown =>
    JSON.parse(
      JSON.stringify(v.toArray(), (_k, x: unknown) =>
        x instanceof A.Vector ? Array.from(x.toArray() as ArrayLike<unknown>) : ArrayBuffer.isView(x) ? Array.from(x as Float32Array) : x,
      ),
    );

  for (const [kind, make] of Object.entries(kinds)) {
    it(`${kind}, through convert and normalize`, () => {
      const input = write(`${kind}.arrow`, { target: make() });
      const reference = write(`${kind}-plain.arrow`, { target: plain(kind.includes(' of ')) });
      const run = (command: string, file: string): A.Vector => {
        const out = `${file}.${command}.arrow`;
        const r = tsnorm([command, file, '--layout', 'list', '-o', out]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        return A.tableFromIPC(fs.readFileSync(out)).getChild('target')!;
      };
      const converted = run('convert', input);
      expect(String(converted.type)).toBe(String(make().type));
      expect(values(converted)).toEqual(values(make()));
      const normalized = run('normalize', input);
      expect(String(normalized.type)).toBe(String(make().type));
      expect(values(normalized)).toEqual(values(run('normalize', reference)));
    });
  }
});

describe('an empty string is not a missing value', () => {
  it('Arrow to CSV writes "" for it and nothing for a null; CSV to Arrow reads them back as they were', () => {
    const input = write('empty.arrow', { s: A.vectorFromArray(['a', '', null, 'x'], new A.Utf8()), x: A.vectorFromArray([1, 2, 3, 4], new A.Float64()) });
    const csv = `${input}.csv`;
    let r = tsnorm(['convert', input, '-o', csv]);
    expect(r.stderr).toBe('');
    // As pyarrow.csv.write_csv writes them (fixtures/types/pyarrow.csv: its utf8 column has both).
    expect(fs.readFileSync(csv, 'utf8')).toBe('s,x\na,1\n"",2\n,3\nx,4\n');
    r = tsnorm(['convert', csv, '--keep', 's', '-o', `${csv}.arrow`]);
    expect(r.stderr).toBe('');
    const s = A.tableFromIPC(fs.readFileSync(`${csv}.arrow`)).getChild('s')!;
    expect(Array.from({ length: s.length }, (_, i) => s.get(i) as string | null)).toEqual(['a', '', null, 'x']);
  });
});

describe('inspect of a list layout', () => {
  it('shows float32 lists as float32: min and max as numpy prints them', () => {
    const input = write('f32-lists.arrow', {
      l: A.vectorFromArray(
        [
          [0.1, 0.2, 0.3],
          [0.4, 0.5, 0.6],
        ],
        new A.List(new A.Field('item', new A.Float32(), true)),
      ),
    });
    const r = tsnorm(['inspect', input, '--layout', 'list']);
    expect(r.stderr).toBe('');
    // repr(numpy.float32(0.1)) is 0.1; as a float64 the same value is 0.10000000149011612.
    expect(r.stdout.toString()).toContain('(float32)');
    expect(
      r.stdout
        .toString()
        .split('\n')
        .find((line) => line.startsWith('l '))!
        .trim()
        .split(/\s+/)
        .slice(4, 6),
    ).toEqual(['0.1', '0.6']);
  });
});

describe('a value CSV cannot carry', () => {
  it('a NUL in text is refused, naming the column and the instance, and nothing is written', () => {
    const input = write('nul.arrow', {
      id: A.vectorFromArray(['a', 'a', 'b', 'b'], new A.Utf8()),
      s: A.vectorFromArray(['ok', 'ok', 'x\u0000y', 'ok'], new A.Utf8()),
      x: A.vectorFromArray([1, 2, 3, 4], new A.Float64()),
    });
    const csv = `${input}.csv`;
    const r = tsnorm(['convert', input, '--id', 'id', '-o', csv]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `tsnorm: ${csv}: column 's', instance 1 (id 'b', from row 2), step 0: a NUL character, which CSV text cannot carry (readers take it for binary data): write Arrow instead\n`,
    );
    expect(fs.existsSync(csv)).toBe(false);
  });
});

describe('tiny record batches', () => {
  const rows = 3000;
  const whole = new A.Table({
    id: A.vectorFromArray(
      Array.from({ length: rows }, (_, i) => `d${Math.floor(i / 100)}`),
      new A.Utf8(),
    ),
    ts: A.vectorFromArray(
      Array.from({ length: rows }, (_, i) => 1700000000000000000n + BigInt(i)),
      new A.Int64(),
    ),
    note: A.vectorFromArray(
      Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : `n${i}`)),
      new A.Utf8(),
    ),
    x: A.vectorFromArray(
      Array.from({ length: rows }, (_, i) => Math.sin(i)),
      new A.Float64(),
    ),
  });
  const oneRowBatches = new A.Table(Array.from({ length: rows }, (_, i) => whole.slice(i, i + 1).batches[0]!));
  const column = (t: A.Table, name: string): unknown[] => Array.from({ length: t.numRows }, (_, i) => t.getChild(name)!.get(i));

  it('are gathered into one batch in a file output, every value as it was', () => {
    const input = path.join(tmp.dir, 'tiny.arrow');
    fs.writeFileSync(input, A.tableToIPC(oneRowBatches, 'file'));
    expect(A.tableFromIPC(fs.readFileSync(input)).batches).toHaveLength(rows);
    const r = tsnorm(['convert', input, '--id', 'id', '--keep', 'ts', '-o', `${input}.out.arrow`]);
    expect(r.stderr).toBe('');
    const out = A.tableFromIPC(fs.readFileSync(`${input}.out.arrow`));
    expect(out.batches).toHaveLength(1);
    for (const name of ['id', 'ts', 'note', 'x']) expect(column(out, name), name).toEqual(column(whole, name));
  });

  it('with struct and map columns, joined too; a type that is not (large_list) keeps the batches as they came', () => {
    const struct = new A.Struct([new A.Field('a', new A.Int32(), true)]);
    const map = new A.Map_(
      new A.Field('entries', new A.Struct([new A.Field('key', new A.Utf8(), false), new A.Field('value', new A.Int32(), true)] as A.Field[]), false) as never,
    );
    const large = new A.LargeList(new A.Field('item', new A.Int32(), true));
    const n = 40;
    const make = (extra: Record<string, A.Vector>) =>
      new A.Table({
        x: A.vectorFromArray(
          Array.from({ length: n }, (_, i) => i / 3),
          new A.Float64(),
        ),
        ...extra,
      });
    const cases = [
      {
        name: 'struct-map',
        table: make({
          s: A.vectorFromArray(
            Array.from({ length: n }, (_, i) => ({ a: i })),
            struct,
          ),
          m: A.vectorFromArray(
            Array.from({ length: n }, (_, i) => new Map([[`k${i}`, i]])),
            map,
          ),
        }),
        batches: 1,
      },
      {
        name: 'large-list',
        table: make({
          l: A.vectorFromArray(
            Array.from({ length: n }, (_, i) => [i]),
            large,
          ),
        }),
        batches: n,
      },
    ];
    for (const { name, table, batches } of cases) {
      const input = path.join(tmp.dir, `tiny-${name}.arrow`);
      fs.writeFileSync(input, A.tableToIPC(new A.Table(Array.from({ length: n }, (_, i) => table.slice(i, i + 1).batches[0]!)), 'file'));
      const r = tsnorm(['convert', input, '--channels', 'x', '-o', `${input}.out.arrow`]);
      expect(r.stderr).toBe('');
      const out = A.tableFromIPC(fs.readFileSync(`${input}.out.arrow`));
      expect(out.batches, name).toHaveLength(batches);
      for (const field of table.schema.fields.map((f) => f.name)) {
        expect(
          column(out, field).map((v) => JSON.stringify(v)),
          `${name}: ${field}`,
        ).toEqual(column(table, field).map((v) => JSON.stringify(v)));
      }
    }
  });

  // Batches that arrive one at a time go out one at a time: arrow-streams.test.ts.
  it('on a stream that has arrived whole, are gathered too', () => {
    const input = path.join(tmp.dir, 'tiny.arrows');
    fs.writeFileSync(input, A.tableToIPC(oneRowBatches.slice(0, 50), 'stream'));
    const r = tsnorm(['convert', input, '--id', 'id', '--keep', 'ts', '--to', 'arrows']);
    expect(r.stderr).toBe('');
    const out = A.tableFromIPC(r.stdout);
    expect(out.batches).toHaveLength(1);
    expect(column(out, 'note')).toEqual(column(whole.slice(0, 50), 'note'));
  });
});

describe('view types (polars writes its strings as string_view)', () => {
  it('become utf8 and binary, inside structs too, every value as it was, in every instance', () => {
    // fixtures/interop/polars.arrow: written by polars (fixtures/generate_interop_types.py).
    const input = path.join(FIXTURES, 'interop', 'polars.arrow');
    const out = path.join(tmp.dir, 'polars-out.arrow');
    const r = tsnorm(['convert', input, '--id', 'id', '--channels', 'x', '-o', out]);
    expect(r.stderr).toBe('');
    const source = A.tableFromIPC(fs.readFileSync(input));
    const got = A.tableFromIPC(fs.readFileSync(out));
    expect(String(got.getChild('str')!.type)).toBe('Utf8');
    expect(String(got.getChild('bin')!.type)).toBe('Binary');
    expect(String(got.getChild('struct')!.type)).toBe('Struct<{a:Int64, b:Utf8}>');
    const rows = (t: A.Table, name: string) =>
      Array.from({ length: t.numRows }, (_, i) =>
        JSON.stringify(t.getChild(name)!.get(i), (_k, v: unknown) =>
          typeof v === 'bigint' ? String(v) : ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v,
        ),
      );
    for (const name of ['str', 'bin', 'struct']) expect(rows(got, name), name).toEqual(rows(source, name));
  });
});

describe('the list layout keeps its per-instance columns', () => {
  it('of every type, as they were, through convert and normalize', () => {
    const n = 2;
    const columns = {
      id: A.vectorFromArray(['a', 'b'], new A.Utf8()),
      x: A.vectorFromArray(
        [
          [1, 2],
          [3, 4, 5],
        ],
        new A.List(new A.Field('item', new A.Float64(), true)),
      ),
      st: A.vectorFromArray([{ a: 1, b: 'x' }, null], new A.Struct([new A.Field('a', new A.Int32(), true), new A.Field('b', new A.Utf8(), true)])),
      d: A.vectorFromArray([Date.UTC(1500, 0, 1), null], new A.DateDay()),
      ts: A.vectorFromArray([1, 2], new A.TimestampNanosecond('Asia/Kathmandu')),
      b: A.vectorFromArray([Uint8Array.of(97, 98), null], new A.Binary()),
      lu: A.vectorFromArray(['x', ''], new A.LargeUtf8()),
      li: A.vectorFromArray(
        [
          [1n, 2n],
          [3n, 4n, 5n],
        ],
        new A.List(new A.Field('item', new A.Int64(), true)),
      ),
    };
    const input = write('list-instance-columns.arrow', columns);
    const json = (t: A.Table, name: string) =>
      Array.from({ length: n }, (_, i) =>
        JSON.stringify(t.getChild(name)!.get(i), (_k, v: unknown) =>
          typeof v === 'bigint' ? String(v) : ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v,
        ),
      );
    for (const command of ['convert', 'normalize']) {
      const out = `${input}.${command}.arrow`;
      const r = tsnorm([command, input, '--layout', 'list', '--id', 'id', '--channels', 'x', '-o', out]);
      expect(r.stderr).toBe('');
      const got = A.tableFromIPC(fs.readFileSync(out));
      for (const name of ['st', 'd', 'ts', 'b', 'lu', 'li']) {
        expect(String(got.getChild(name)!.type), `${command}: ${name}`).toBe(String(columns[name as keyof typeof columns].type));
        expect(json(got, name), `${command}: ${name}`).toEqual(json(A.tableFromIPC(fs.readFileSync(input)), name));
      }
    }
  });
});

describe('a list layout written as the long layout', () => {
  const x = A.vectorFromArray(
    [
      [1, 2],
      [3, 4, 5],
    ],
    new A.List(new A.Field('item', new A.Float64(), true)),
  );
  const texts = (lists: string[][]) => A.vectorFromArray(lists, new A.List(new A.Field('item', new A.Utf8(), true)));

  it('spreads a list column of the series length over the rows, an element a row', () => {
    const input = write('spread.arrow', {
      id: A.vectorFromArray(['a', 'b'], new A.Utf8()),
      x,
      s: texts([
        ['p', 'q'],
        ['r', 's', 't'],
      ]),
    });
    const r = tsnorm(['convert', input, '--layout', 'list', '--channels', 'x', '--output-layout', 'long', '-o', `${input}.long.arrow`]);
    expect(r.stderr).toBe('');
    const s = A.tableFromIPC(fs.readFileSync(`${input}.long.arrow`)).getChild('s')!;
    expect(String(s.type)).toBe('Utf8');
    expect(Array.from(s.toArray() as string[])).toEqual(['p', 'q', 'r', 's', 't']);
  });

  it('refuses a list of another length, which has no row to go to', () => {
    const input = write('ragged.arrow', {
      id: A.vectorFromArray(['a', 'b'], new A.Utf8()),
      x,
      s: texts([
        ['p', 'q'],
        ['r', 's'],
      ]),
    });
    const out = `${input}.long.arrow`;
    const r = tsnorm(['convert', input, '--layout', 'list', '--channels', 'x', '--output-layout', 'long', '-o', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `tsnorm: ${out}: column 's': instance 1 has a list whose length is not its series' (3), which the long layout cannot spread over its rows: write the list layout (--output-layout list) or CSV\n`,
    );
    expect(fs.existsSync(out)).toBe(false);
  });
});
