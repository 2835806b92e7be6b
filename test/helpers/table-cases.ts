import path from 'node:path';
import type * as A from 'apache-arrow';
import { expect } from 'vitest';
import { readNpy } from './npy.js';

// The channels of a normalized table (Arrow's long or list layout) and of a fixture's exact
// expected values, both as (total rows, C) in row order: what the Arrow and the Parquet fixture
// tests compare.

export interface TableCase {
  readonly layout: 'long' | 'list';
  readonly channels: readonly string[];
  readonly expected?: string | undefined;
  readonly expected_shape_kind?: 'NCL' | 'rows' | undefined;
}

/** Channel values of an output, as (total rows, C) in row order; nulls as NaN. */
export function outputRows(t: A.Table, s: TableCase, C: number): number[][] {
  const rows: number[][] = [];
  if (s.layout === 'long') {
    for (let r = 0; r < t.numRows; r++) rows.push(s.channels.map((c) => (t.getChild(c)!.get(r) as number | null) ?? NaN));
    return rows;
  }
  // A row per instance: its channels' lists, step by step.
  for (let r = 0; r < t.numRows; r++) {
    const series: ArrayLike<number | null>[] = [];
    if (C > s.channels.length) {
      const outer = t.getChild(s.channels[0]!)!.get(r) as A.Vector;
      for (let c = 0; c < outer.length; c++) series.push((outer.get(c) as A.Vector).toArray() as ArrayLike<number>);
    } else {
      for (const c of s.channels) {
        const v = t.getChild(c)!.get(r) as A.Vector;
        series.push(Array.from({ length: v.length }, (_, i) => v.get(i) as number | null));
      }
    }
    for (let k = 0; k < series[0]!.length; k++) rows.push(series.map((x) => x[k] ?? NaN));
  }
  return rows;
}

/** The expected values (the fixture's .npy, in `dir`) as (total rows, C). */
export async function expectedRows(dir: string, s: TableCase): Promise<{ rows: number[][]; C: number }> {
  const e = await readNpy(path.join(dir, s.expected!));
  if (s.expected_shape_kind === 'rows') {
    const [R, C] = e.shape as [number, number];
    return { rows: Array.from({ length: R }, (_, r) => Array.from({ length: C }, (_, c) => e.data[r * C + c]!)), C };
  }
  const [N, C, L] = e.shape.length === 3 ? (e.shape as [number, number, number]) : [1, e.shape[0]!, e.shape[1]!];
  const rows: number[][] = [];
  for (let n = 0; n < N; n++) for (let t = 0; t < L; t++) rows.push(Array.from({ length: C }, (_, c) => e.data[(n * C + c) * L + t]!));
  return { rows, C };
}

/** The output's channels are the expected values: NaN where they are, elsewhere within one float32 rounding (float32 outputs). */
export function expectChannels(got: A.Table, s: TableCase, want: { rows: number[][]; C: number }): void {
  const rows = outputRows(got, s, want.C);
  expect(rows.length).toBe(want.rows.length);
  let worst = 0;
  rows.forEach((row, i) =>
    row.forEach((x, c) => {
      const w = want.rows[i]![c]!;
      if (Number.isNaN(w) || Number.isNaN(x)) expect([i, c, Number.isNaN(x)]).toEqual([i, c, Number.isNaN(w)]);
      else worst = Math.max(worst, Math.abs(x - w) / Math.max(1, Math.abs(w)));
    }),
  );
  expect(worst).toBeLessThanOrEqual(1e-6);
}
