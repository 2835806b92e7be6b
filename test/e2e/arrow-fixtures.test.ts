import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';
import { expectChannels, expectedRows as expectedOf } from '../helpers/table-cases.js';
import { registerDecoders } from '../../src/formats/arrow/codecs.js';

// Arrow files written by pyarrow and polars (fixtures/generate_arrow.py), normalized by tsnorm and
// read back with apache-arrow: the values must be the exact reference's, every other column as it was.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const dir = path.join(FIXTURES, 'arrow');

interface Sidecar {
  file: string;
  layout: 'long' | 'list';
  args: string[];
  channels: string[];
  id: string | null;
  pass_through: { name: string; arrow_type: string }[];
  expected?: string;
  expected_shape_kind?: 'NCL' | 'rows';
  nan?: 'propagate' | 'ignore';
  expect_error?: string;
  lengths?: number[];
}

const sidecars: Sidecar[] = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
registerDecoders();
/** Every record batch of a file or stream, streams written back to back included. */
const table = (file: string): A.Table => {
  const batches: A.RecordBatch[] = [];
  for (const reader of A.RecordBatchReader.readAll(fs.readFileSync(file))) batches.push(...reader);
  return new A.Table(batches);
};

const cellsOf = (t: A.Table, name: string): unknown[] => {
  const v = t.getChild(name)!;
  return Array.from({ length: v.length }, (_, i) => {
    const x = v.get(i);
    return x instanceof A.Vector ? Array.from(x as Iterable<unknown>) : x;
  });
};

describe('Arrow files from pyarrow and polars', () => {
  const valid = sidecars.filter((s) => !s.expect_error);
  it.each(valid.map((s) => [s.file, s] as const))('%s', async (_name, s) => {
    const out = path.join(tmp.dir, `out-${s.file}`);
    const args = [path.join(dir, s.file), '-o', out, ...s.args, ...(s.nan === 'ignore' ? ['--nan', 'ignore'] : [])];
    const r = tsnorm(args);
    expect(r.stderr.replace(/^tsnorm: note: .*\n/gm, '')).toBe('');
    expect(r.status).toBe(0);
    const got = table(out);
    expectChannels(got, s, await expectedOf(dir, s));
    // Every other column comes back as it was (values; for the long layout, row for row).
    const input = table(path.join(dir, s.file));
    for (const p of [...s.pass_through, ...(s.id ? [{ name: s.id }] : [])]) {
      expect(cellsOf(got, p.name)).toEqual(cellsOf(input, p.name));
    }
  });

  it('float64 channels stay float64, float32 stay float32 (dtype default)', () => {
    const out = path.join(tmp.dir, 'types.arrow');
    expect(tsnorm([path.join(dir, 'dict_nulls.arrow'), '-o', out, '--id', 'site', '--keep', 'ts']).status).toBe(0);
    expect(['temp', 'hum', 'pres'].map((c) => String(table(out).getChild(c)!.type))).toEqual(['Float64', 'Float64', 'Float64']);
    const out32 = path.join(tmp.dir, 'types32.arrow');
    expect(tsnorm([path.join(dir, 'long_basic.arrow'), '-o', out32, '--id', 'item', '--keep', 't']).status).toBe(0);
    const channels = (JSON.parse(fs.readFileSync(path.join(dir, 'long_basic.json'), 'utf8')) as Sidecar).channels;
    expect(channels.map((c) => String(table(out32).getChild(c)!.type))).toEqual(channels.map(() => 'Float32'));
  });
});

describe('broken Arrow input: one line, exit 2, nothing written', () => {
  const phrases: Record<string, string> = {
    'bad_footer.arrow': 'corrupt Arrow file',
    'bad_footer_length.arrow': 'corrupt Arrow file: its footer length',
    'bad_list_ragged_columns.arrow': "column 'b', row 1: 19 values, but channel 0 has 20",
    'bad_list_ragged_target.arrow': "column 'target', row 2: 14 values, but channel 0 has 15",
    'bad_list_view.arrow': 'an Arrow type that cannot be read here: ListView',
    'bad_null_id.arrow': "row 60: the --id column 'item' is null",
    'bad_run_end_id.arrow': 'an Arrow type that cannot be read here: RunEndEncoded',
    'bad_schema_change.arrows': 'after record batch 2 a schema with other columns follows',
    'bad_schema_change_no_eos.arrows': 'after record batch 2 a schema with other columns follows',
    'bad_stream_truncated.arrows': 'truncated',
    'bad_stream_truncated_body.arrows': 'truncated',
    'bad_truncated.arrow': 'truncated Arrow file',
  };
  const bad = sidecars.filter((s) => s.expect_error);
  it('every broken fixture has its expected message here', () => {
    expect(bad.map((s) => s.file).sort()).toEqual(Object.keys(phrases).sort());
  });
  it.each(bad.map((s) => [s.file, s] as const))('%s', (_name, s) => {
    const work = fs.mkdtempSync(path.join(tmp.dir, 'bad-'));
    const r = tsnorm([path.join(dir, s.file), '-o', path.join(work, `out.${s.file.split('.').pop()}`), ...s.args]);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toContain(phrases[s.file]);
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('a footer that places a record batch outside the file', () => {
    // A valid file whose footer entry for batch 0 is patched to a body running past the end.
    const good = path.join(tmp.dir, 'footer-good.arrow');
    expect(tsnorm(['convert', path.join(FIXTURES, 'example.npy'), '-o', good]).status).toBe(0);
    const bytes = fs.readFileSync(good);
    const block = A.RecordBatchFileReader.from(bytes).open().footer!.getRecordBatch(0)!;
    const entry = Buffer.alloc(24);
    entry.writeBigInt64LE(BigInt(block.offset), 0);
    entry.writeInt32LE(block.metaDataLength, 8);
    entry.writeBigInt64LE(BigInt(block.bodyLength), 16);
    const footerStart = bytes.length - 10 - bytes.readInt32LE(bytes.length - 10);
    const at = bytes.indexOf(entry, footerStart);
    expect(at).toBeGreaterThan(0);
    bytes.writeBigInt64LE(BigInt(bytes.length), at + 16);
    const broken = path.join(tmp.dir, 'footer-broken.arrow');
    fs.writeFileSync(broken, bytes);
    const out = path.join(tmp.dir, 'footer-broken.out.arrow');
    const r = tsnorm([broken, '-o', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `tsnorm: ${broken}: corrupt Arrow file: its footer places record batch 0 at bytes ${block.offset}..${block.offset + block.metaDataLength + bytes.length}, outside the file (${bytes.length} bytes)\n`,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('the same from a pipe', () => {
    for (const file of ['bad_truncated.arrow', 'bad_stream_truncated_body.arrows']) {
      const r = tsnorm(['-', '--id', 'item', '--keep', 't'], { input: fs.readFileSync(path.join(dir, file)) });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('truncated');
    }
  });
});

describe('regression inputs (fixtures/regress)', () => {
  it('a compressed batch far smaller than its rows (1M constant rows in 1,424 bytes of ZSTD) is read, not refused', () => {
    const input = path.join(FIXTURES, 'regress/zstd_constant_1m.arrow');
    const r = tsnorm(['normalize', input, '--to', 'npy', '--dtype', 'float64']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Two constant channels: every normalized value is exactly 0 ((x - mean) / sqrt(0 + eps)).
    const data = new Float64Array(r.stdout.buffer.slice(r.stdout.byteOffset + r.stdout.length - 2_000_000 * 8, r.stdout.byteOffset + r.stdout.length));
    expect(data.length).toBe(2_000_000);
    expect(data.every((x) => x === 0)).toBe(true);
  });

  it('a schema field without a name is a one-line error, not an internal one', () => {
    const input = path.join(FIXTURES, 'regress/unnamed_column.arrows');
    const r = tsnorm(['normalize', input, '--id', 'site', '-o', path.join(tmp.dir, 'never.csv')]);
    expect(r.stderr).toBe(`tsnorm: ${input}: column 1 of the Arrow schema has no name (a corrupt stream?)\n`);
    expect(r.status).toBe(2);
    expect(fs.existsSync(path.join(tmp.dir, 'never.csv'))).toBe(false);
  });
});
