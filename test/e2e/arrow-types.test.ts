/**
 * Arrow columns reach CSV text as their values: each column of fixtures/types/types.arrow
 * (decimals, dates, times, durations, booleans, 64-bit integers, float32 and float64) as
 * tsnorm writes it against what pyarrow.csv.write_csv wrote for the same table
 * (fixtures/generate_types.py), cell by cell; binary, which pyarrow refuses, against Python's
 * bytes.hex().
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { FIXTURES, tsnorm } from '../helpers/cli.js';

const DIR = path.join(FIXTURES, 'types');

describe('Arrow types to CSV text', () => {
  const r = tsnorm(['convert', path.join(DIR, 'types.arrow'), '--channels', 'x', '--to', 'csv']);
  const ours = parse(r.stdout, { columns: true }) as Record<string, string>[];
  const pyarrow = parse(fs.readFileSync(path.join(DIR, 'pyarrow.csv')), { columns: true }) as Record<string, string>[];
  const names = Object.keys(pyarrow[0]!);

  it('runs', () => {
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(ours).toHaveLength(pyarrow.length);
    expect(names.length).toBeGreaterThan(15);
  });

  it.each(names)('%s as pyarrow writes it', (name) => {
    expect(ours.map((row) => row[name])).toEqual(pyarrow.map((row) => row[name]));
  });

  it('binary as hexadecimal', () => {
    const hex = JSON.parse(fs.readFileSync(path.join(DIR, 'binary.json'), 'utf8')) as (string | null)[];
    expect(ours.map((row) => row['binary'])).toEqual(hex.map((h) => h ?? ''));
  });
});

describe('lists spread over rows (the list layout read, the long layout written)', () => {
  const r = tsnorm(['convert', path.join(DIR, 'spread.arrow'), '--layout', 'list', '--id', 'id', '--channels', 'x', '--to', 'csv']);
  const ours = parse(r.stdout, { columns: true }) as Record<string, string>[];
  const pyarrow = parse(fs.readFileSync(path.join(DIR, 'spread.csv')), { columns: true }) as Record<string, string>[];

  it('runs', () => {
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(ours).toHaveLength(6);
  });

  it.each(['ts', 'tsz', 'day', 'dec'])('each element of %s as pyarrow writes a column of the element type', (name) => {
    expect(ours.map((row) => row[name])).toEqual(pyarrow.map((row) => row[name]));
  });
});
