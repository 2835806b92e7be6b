import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir, tsnorm } from '../helpers/cli.js';
import { readNpy } from '../helpers/npy.js';
import { xorshift32 } from '../helpers/random.js';

// `convert` between every pair of formats: values come back as the same doubles (float64 through
// text and back), float32 stays float32, and every non-channel column keeps its values.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const file = (name: string) => path.join(tmp.dir, name);

const next = xorshift32(2026);
const rand = () => (next() / 2 ** 32 - 0.5) * 10 ** ((next() % 12) - 4);
const notes = ['plain', 'a, b', 'say "hi"', 'café ☕', '', 'x'];
const header = ['id', 't', 'note', 'c0', 'c1'];
const rows: string[][] = [];
for (const id of ['dev-a', 'dev-b', 'dev-c']) {
  for (let t = 0; t < 4; t++) rows.push([id, String(1700000000 + t), notes[(rows.length * 7) % notes.length]!, String(rand()), String(rand())]);
}
const quote = (c: string) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
const base = file('base.csv');
fs.writeFileSync(base, [header, ...rows].map((r) => r.map(quote).join(',')).join('\n') + '\n');
const long = ['--id', 'id', '--keep', 't'];
const cellsOfCsv = (f: string, delimiter = ','): string[][] => parse(fs.readFileSync(f, 'utf8'), { delimiter, relax_column_count: false }) as string[][];

const sources = ['csv', 'tsv', 'arrow', 'arrows'] as const;
const targets = ['csv', 'tsv', 'npy', 'arrow', 'arrows'] as const;

describe('convert between every pair of formats', () => {
  for (const s of sources) {
    const src = file(`src.${s}`);
    it.each(targets.map((t) => [t]))(`${s} -> %s -> csv keeps the values and the other columns`, (t) => {
      if (!fs.existsSync(src)) expect(tsnorm(['convert', base, '-o', src, ...long]).status).toBe(0);
      const out = file(`from-${s}.${t}`);
      const r = tsnorm(['convert', src, '-o', out, ...long]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const back = file(`back-${s}-${t}.csv`);
      expect(tsnorm(['convert', out, '-o', back, ...(t === 'npy' ? [] : long)]).status).toBe(0);
      const got = cellsOfCsv(back);
      if (t === 'npy') {
        // NPY holds the values only: it comes back with the instance and step as id and t.
        expect(got[0]).toEqual(['id', 't', 'c0', 'c1']);
        expect(got.slice(1).map((r) => r.slice(2))).toEqual(rows.map((r) => r.slice(3)));
        expect(got.slice(1).map((r) => r.slice(0, 2))).toEqual(rows.map((_, i) => [String(Math.floor(i / 4)), String(i % 4)]));
      } else {
        expect(got).toEqual([header, ...rows]);
      }
    });
  }

  it('Arrow keeps a CSV timestamp column as int64 and text as utf8; channels are float64 from text', () => {
    const out = file('typed.arrow');
    expect(tsnorm(['convert', base, '-o', out, ...long]).status).toBe(0);
    const t = A.tableFromIPC(fs.readFileSync(out));
    expect(t.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['id:Utf8', 't:Int64', 'note:Utf8', 'c0:Float64', 'c1:Float64']);
  });

  it('float32 stays float32: NPY -> Arrow -> NPY gives back the same bytes', async () => {
    const npy = path.join(FIXTURES, 'cases/basic/input.npy');
    const arrow = file('f32.arrows');
    const again = file('f32.npy');
    expect(tsnorm(['convert', npy, '-o', arrow]).status).toBe(0);
    expect(String(A.tableFromIPC(fs.readFileSync(arrow)).getChild('c0')!.type)).toBe('Float32');
    expect(tsnorm(['convert', arrow, '-o', again, '--id', 'id', '--keep', 't']).status).toBe(0);
    const a = await readNpy(npy);
    const b = await readNpy(again);
    expect(b.dtype).toBe('<f4');
    expect(b.shape).toEqual(a.shape);
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
  });

  it('the list layout from a long table and back', () => {
    const list = file('as-list.arrow');
    expect(tsnorm(['convert', base, '-o', list, ...long, '--output-layout', 'list']).status).toBe(0);
    const t = A.tableFromIPC(fs.readFileSync(list));
    expect(t.numRows).toBe(3);
    expect(t.getChild('id')!.toArray()).toEqual(['dev-a', 'dev-b', 'dev-c']);
    const back = file('from-list.csv');
    expect(tsnorm(['convert', list, '-o', back, '--layout', 'list', '--channels', 'c0,c1']).status).toBe(0);
    expect(cellsOfCsv(back)).toEqual([header, ...rows]);
  });
});
