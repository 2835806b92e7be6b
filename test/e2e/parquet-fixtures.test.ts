import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fastPlan } from '../../src/formats/parquet/footer.js';
import { BIN, FIXTURES, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';
import { expectChannels, expectedRows as expectedOf } from '../helpers/table-cases.js';

// Parquet files written by pyarrow (every codec, v1 and v2 pages, dictionary and plain), polars
// and DuckDB (fixtures/generate_parquet.py), normalized by tsnorm: the values must be the exact
// reference's, every other column as pyarrow reads it from the input (the fixture's twin).

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const dir = path.join(FIXTURES, 'parquet');

interface Sidecar {
  file: string;
  twin: string;
  writer: string;
  layout: 'long' | 'list';
  args: string[];
  channels: string[];
  id: string | null;
  pass_through: { name: string }[];
  expected: string;
  expected_shape_kind: 'NCL' | 'rows';
  nan?: 'propagate' | 'ignore';
}

const sidecars: Sidecar[] = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));

const table = (file: string): A.Table => new A.Table([...A.RecordBatchReader.from(fs.readFileSync(file))]);

/** A cell as plain values: lists (of lists) as arrays. */
const plain = (x: unknown): unknown => (x instanceof A.Vector ? Array.from(x as Iterable<unknown>, plain) : x);
const cellsOf = (t: A.Table, name: string): unknown[] => {
  const v = t.getChild(name)!;
  return Array.from({ length: v.length }, (_, i) => plain(v.get(i)));
};

describe('Parquet files from pyarrow, polars and DuckDB', () => {
  it('the fixtures hold every codec, both data page versions and all three writers', () => {
    const writers = new Set(sidecars.map((s) => s.writer.split(' ')[0]));
    expect([...writers].sort()).toEqual(['duckdb', 'polars', 'pyarrow']);
    const codecs = new Set(sidecars.map((s) => (s as unknown as { writer_options: { compression: string } }).writer_options.compression));
    for (const c of ['snappy', 'zstd', 'gzip', 'brotli', 'lz4', 'none']) expect(codecs.has(c), c).toBe(true);
  });

  it.each(sidecars.map((s) => [s.file, s] as const))('%s', async (_name, s) => {
    const out = path.join(tmp.dir, `${s.file}.arrow`);
    const r = tsnorm([path.join(dir, s.file), '-o', out, ...s.args, ...(s.nan === 'ignore' ? ['--nan', 'ignore'] : [])]);
    expect(r.stderr.replace(/^tsnorm: note: .*\n/gm, '')).toBe('');
    expect(r.status).toBe(0);
    const got = table(out);
    expectChannels(got, s, await expectedOf(dir, s));
    // Every other column comes back as pyarrow reads it from the input.
    const twin = table(path.join(dir, s.twin));
    for (const p of [...s.pass_through, ...(s.id ? [{ name: s.id }] : [])]) expect(cellsOf(got, p.name)).toEqual(cellsOf(twin, p.name));

    // Parquet out, read back: the same table as the Arrow output.
    const pq = path.join(tmp.dir, `${s.file}.out.parquet`);
    expect(tsnorm([path.join(dir, s.file), '-o', pq, ...s.args, '--row-group-size', '7', ...(s.nan === 'ignore' ? ['--nan', 'ignore'] : [])]).status).toBe(0);
    const back = path.join(tmp.dir, `${s.file}.back.arrow`);
    const tableArgs = s.args.filter((a, i) => a !== '--nan' && s.args[i - 1] !== '--nan');
    expect(tsnorm(['convert', pq, '-o', back, ...tableArgs]).stderr).toBe('');
    const again = table(back);
    expect(again.schema.fields.map((f) => `${f.name}: ${f.type}`)).toEqual(got.schema.fields.map((f) => `${f.name}: ${f.type}`));
    for (const f of got.schema.fields) expect(cellsOf(again, f.name), f.name).toEqual(cellsOf(got, f.name));
  });

  it('from a pipe: the same as from the file', () => {
    const s = sidecars.find((x) => x.file === 'long_basic.parquet')!;
    const fromFile = tsnorm([path.join(dir, s.file), '--to', 'csv', ...s.args]);
    const fromPipe = tsnorm(['-', '--to', 'csv', ...s.args], { input: fs.readFileSync(path.join(dir, s.file)) });
    expect(fromPipe.stderr).toBe('');
    expect(fromPipe.stdout.toString()).toBe(fromFile.stdout.toString());
  });
});

describe('broken Parquet input: one line, exit 2, nothing written', () => {
  const good = fs.readFileSync(path.join(dir, 'long_basic.parquet'));
  const cases: [string, Buffer, string][] = [
    ['empty.parquet', Buffer.alloc(0), 'not a Parquet file: it does not begin with PAR1'],
    ['head.parquet', good.subarray(0, 4), 'truncated Parquet file: it does not end with the footer and PAR1 (4 bytes)'],
    ['cut.parquet', good.subarray(0, good.length - 100), 'truncated Parquet file: it does not end with the footer and PAR1'],
    [
      'footer-length.parquet',
      Buffer.concat([good.subarray(0, good.length - 8), Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.from('PAR1')]),
      'corrupt Parquet file: its footer length (2147483647) does not fit the file',
    ],
    [
      'footer-garbage.parquet',
      (() => {
        const b = Buffer.from(good);
        const footer = b.readUInt32LE(b.length - 8);
        b.fill(0xaa, b.length - 8 - footer, b.length - 8);
        return b;
      })(),
      'corrupt Parquet file: ',
    ],
  ];
  it.each(cases)('%s', (name, bytes, phrase) => {
    const work = fs.mkdtempSync(path.join(tmp.dir, 'bad-'));
    const input = path.join(tmp.dir, name);
    fs.writeFileSync(input, bytes);
    const r = tsnorm([input, '-o', path.join(work, 'out.parquet'), '--id', 'item']);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toContain(`${input}: ${phrase}`);
    expect(fs.readdirSync(work)).toEqual([]);
  });
});

describe('what parquet-wasm cannot do is one line, exit 2', () => {
  it('a type its decoder traps on (polars Int128)', () => {
    const input = path.join(dir, 'bad_int128.parquet');
    const r = tsnorm(['inspect', input]);
    expect(r.stderr).toBe(`tsnorm: ${input}: cannot read this Parquet file: the decoder stopped (unreachable); a corrupt file, or a type it does not read\n`);
    expect(r.status).toBe(2);
  });

  it('--row-group-size: a row group a row is written; beyond 2^31 - 1 is refused', () => {
    const input = path.join(dir, 'flat_zstd_required.parquet');
    const out = path.join(tmp.dir, 'many-groups.parquet');
    const flags = ['--id', 'id', '--keep', 't'];
    expect(tsnorm(['convert', input, ...flags, '-o', out, '--row-group-size', '1']).stderr).toBe('');
    expect(tsnorm(['convert', out, ...flags, '--to', 'csv']).stdout.toString()).toBe(tsnorm(['convert', input, ...flags, '--to', 'csv']).stdout.toString());
    expect(tsnorm(['convert', input, '-o', out, '--row-group-size', '4294967296']).stderr).toBe(
      "tsnorm: --row-group-size: at most 2147483647, got '4294967296'\n",
    );
  });

  it('a column of the null type is written (nulls), with two instances', () => {
    const out = path.join(tmp.dir, 'nulls.parquet');
    const r = tsnorm(['convert', path.join(dir, 'edge_null_column.parquet'), '--id', 'id', '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(tsnorm(['convert', out, '--id', 'id', '--to', 'csv']).stdout.toString()).toBe('id,x,nul\na,1,\na,2,\nb,3,\nb,5,\n');
  });

  it('Parquet to a stdout closed early ends quietly, exit 0', () => {
    const input = path.join(dir, 'flat_zstd_v2_plain.parquet');
    const r = spawnSync('bash', [
      '-c',
      `"${process.execPath}" "${BIN}" "${input}" --id id --keep t --to parquet -q | head -c 4 >/dev/null; echo \${PIPESTATUS[0]}`,
    ]);
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString()).toBe('0\n');
  });

  it('a list-of-lists column (C x L) is refused for the long layout rather than cut to its first channel', () => {
    const input = path.join(dir, 'hf_target.parquet');
    for (const args of [
      ['--to', 'csv'],
      ['--output-layout', 'long', '-o', path.join(tmp.dir, 'hf-long.arrow')],
    ]) {
      const r = tsnorm(['convert', input, '--layout', 'list', '--channels', 'target', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("column 'target' holds every channel as a list of lists, which a row per time step");
    }
  });
});

describe('the fast decoder reads what parquet-wasm reads', () => {
  // Flat numeric and text columns are decoded by tsnorm's own page decoder; everything else by
  // parquet-wasm (arrow-rs). Where both can read a file, their Arrow outputs must be the same bytes.
  it.each(sidecars.map((s) => [s.file, s] as const))('%s', (_name, s) => {
    const input = path.join(dir, s.file);
    const fast = path.join(tmp.dir, `${s.file}.fast.arrow`);
    const wasm = path.join(tmp.dir, `${s.file}.wasm.arrow`);
    const args = ['convert', input, ...s.args.filter((a, i) => a !== '--nan' && s.args[i - 1] !== '--nan')];
    expect(tsnorm([...args, '-o', fast]).stderr).toBe('');
    const r = spawnSync(process.execPath, [BIN, ...args, '-o', wasm], { env: { ...process.env, TSNORM_PARQUET_DECODER: 'wasm' }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(fs.readFileSync(fast).equals(fs.readFileSync(wasm))).toBe(true);
  });

  it('takes the files of flat float, integer and text columns, and leaves the rest to parquet-wasm', () => {
    const flat = [...sidecars.map((s) => s.file).filter((f) => f.startsWith('flat_')), 'long_basic.parquet', 'duckdb_long.parquet', 'polars_compat0.parquet'];
    expect(flat.length).toBe(9);
    for (const f of flat) {
      const footer = (() => {
        const b = fs.readFileSync(path.join(dir, f));
        const n = b.readUInt32LE(b.length - 8);
        return new Uint8Array(b.subarray(b.length - 8 - n, b.length - 8));
      })();
      expect(fastPlan(footer, fs.statSync(path.join(dir, f)).size), f).toBeDefined();
    }
    // Lists, dictionaries, string views (polars), INT96 and decimals: parquet-wasm's.
    for (const f of ['list_target.parquet', 'dict_nulls.parquet', 'polars_default.parquet', 'int96_spark.parquet', 'hf_target.parquet']) {
      const b = fs.readFileSync(path.join(dir, f));
      const n = b.readUInt32LE(b.length - 8);
      expect(fastPlan(new Uint8Array(b.subarray(b.length - 8 - n, b.length - 8)), b.length), f).toBeUndefined();
    }
  });
});
