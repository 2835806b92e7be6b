/**
 * Properties of whole runs (src/pipeline/run.ts, driven by Plans made by the CLI's resolver):
 * the output and the stats are the same bytes however the input arrives (a file, or a pipe
 * delivering it in any chunks: README "Same bits however the data arrives"), the normalized
 * output does not depend on how running statistics are batched, and float32 data through the
 * SIMD kernels gives what the library gives. Where results legitimately depend on the
 * statistics' pieces (--budget), they agree up to rounding.
 *
 * A pipe is the project's own StreamSource over chunks chosen here, given to the run through the
 * plan's input seam (`openInput`): a path registered in `pipes` opens as such a stream (the file
 * itself stays, for the resolver).
 */
import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { type RawOptions, resolvePlan } from '../../src/cli/resolve.js';
import { InstanceNorm1d } from '../../src/core/instance-norm.js';
import { type ByteSource, StreamSource, openInput } from '../../src/io/byte-source.js';
import { run } from '../../src/pipeline/run.js';
import { tempDir } from '../helpers/cli.js';
import { chunksOf, RUNS, settings, timeoutFor } from './support.js';

const pipes = new Map<string, readonly Uint8Array[]>();

/** The plan's input seam: a registered path is a pipe delivering its chunks, any other a file. */
const openTestInput = async (file: string): Promise<ByteSource> => {
  const chunks = pipes.get(file);
  return chunks ? new StreamSource(file, Readable.from(chunks.map((c) => Buffer.from(c)))) : openInput(file);
};

/** Whole runs cost milliseconds each (files, several passes): a fortieth of the runs, at least 25. */
const PIPELINE_RUNS = Math.max(25, Math.ceil(RUNS / 40));

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let counter = 0;
const file = (ext: string): string => path.join(tmp.dir, `f${counter++}${ext}`);

/** Runs the command as the CLI would (resolvePlan, then run); the output's bytes and the stats. */
async function tsnormRun(command: 'normalize' | 'apply', input: string, raw: RawOptions): Promise<{ out: Buffer; stats: unknown }> {
  const summary = await run({ ...resolvePlan(command, [input], raw), openInput: openTestInput });
  const out = fs.readFileSync(raw.output!);
  fs.rmSync(raw.output!);
  return { out, stats: summary.stats === undefined ? undefined : JSON.parse(JSON.stringify(summary.stats)) };
}

/** The same bytes, once as a file and once as a pipe delivering them in these chunks. */
function asFileAndPipe(bytes: Uint8Array, ext: string, cuts: readonly number[]): { path: string; pipe: string } {
  const a = file(ext);
  const b = file(ext);
  fs.writeFileSync(a, bytes);
  fs.writeFileSync(b, bytes);
  pipes.set(b, chunksOf(bytes, cuts));
  return { path: a, pipe: b };
}

/** Instance ids for rows, a new one where `flags` says so, every instance at least two rows long (training needs two steps). */
function runIds(flags: readonly number[], rows: number): number[] {
  let id = 0;
  let length = 0;
  return Array.from({ length: rows }, (_, r) => {
    if (length >= 2 && r <= rows - 2 && flags[r] === 1) {
      id++;
      length = 0;
    }
    length++;
    return id;
  });
}

const momentum = fc.constantFrom('0.1', '0.5', '1', 'cumulative');
const batchSize = fc.option(fc.integer({ min: 1, max: 4 }).map(String));
const cuts = fc.array(fc.nat(1 << 16), { maxLength: 12 });

// ---------------------------------------------------------------------------------------------
// NPY

const npyModel = fc.record({
  n: fc.integer({ min: 1, max: 4 }),
  c: fc.integer({ min: 1, max: 3 }),
  l: fc.integer({ min: 2, max: 40 }),
  dtype: fc.constantFrom('<f4', '<f8', '>f8', '<i2'),
  fortran: fc.boolean(),
  offset: fc.constantFrom(0, 5, -1e3, 1e6),
  u: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 4 * 3 * 40, maxLength: 4 * 3 * 40 }),
});

type NpyModel = typeof npyModel extends fc.Arbitrary<infer T> ? T : never;

/** NPY bytes of the model (values in C order (n, c, t), written in the file's order and type). */
function npyBytes(m: NpyModel): { bytes: Uint8Array; values: Float64Array } {
  const { n, c, l } = m;
  const size = m.dtype.endsWith('8') ? 8 : m.dtype.endsWith('4') ? 4 : 2;
  const values = Float64Array.from({ length: n * c * l }, (_, i) => {
    const x = m.offset + 100 * m.u[i]!;
    return m.dtype.endsWith('i2') ? Math.round(m.u[i]! * 3000) : m.dtype.endsWith('f4') ? Math.fround(x) : x;
  });
  let dict = `{'descr': '${m.dtype}', 'fortran_order': ${m.fortran ? 'True' : 'False'}, 'shape': (${n}, ${c}, ${l}), }`;
  dict += ' '.repeat(63 - ((10 + dict.length) % 64)) + '\n';
  const out = Buffer.alloc(10 + dict.length + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  out.writeUInt16LE(dict.length, 8);
  out.write(dict, 10, 'latin1');
  const view = new DataView(out.buffer, out.byteOffset + 10 + dict.length);
  const little = !m.dtype.startsWith('>');
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let t = 0; t < l; t++) {
        const x = values[(i * c + ch) * l + t]!;
        const at = (m.fortran ? i + n * (ch + c * t) : (i * c + ch) * l + t) * size;
        if (size === 8) view.setFloat64(at, x, little);
        else if (size === 4) view.setFloat32(at, x, little);
        else view.setInt16(at, x, little);
      }
    }
  }
  return { bytes: new Uint8Array(out), values };
}

describe('NPY runs', () => {
  it(
    'give the same output and stats bytes from a file and from a pipe in any chunks; the output whatever the batching',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          npyModel,
          cuts,
          fc.option(fc.integer({ min: 1, max: 100 })),
          momentum,
          batchSize,
          momentum,
          batchSize,
          async (m, at, budget, mA, bA, mB, bB) => {
            const { bytes } = npyBytes(m);
            const input = asFileAndPipe(bytes, '.npy', at);
            const common: RawOptions = { trackRunningStats: true, ...(budget === null ? {} : { budget: String(budget) }) };
            const a = await tsnormRun('normalize', input.path, { ...common, momentum: mA, ...(bA ? { batchSize: bA } : {}), output: file('.npy') });
            const samePiped = await tsnormRun('normalize', input.pipe, { ...common, momentum: mA, ...(bA ? { batchSize: bA } : {}), output: file('.npy') });
            const otherBatches = await tsnormRun('normalize', input.pipe, { ...common, momentum: mB, ...(bB ? { batchSize: bB } : {}), output: file('.npy') });
            expect(samePiped.out.equals(a.out), 'output from a pipe').toBe(true);
            expect(samePiped.stats, 'stats from a pipe').toEqual(a.stats);
            expect(otherBatches.out.equals(a.out), 'output with other running-stats batches').toBe(true);
          },
        ),
        settings(PIPELINE_RUNS),
      );
    },
    timeoutFor(200, PIPELINE_RUNS),
  );

  it(
    'float32 through the SIMD kernels gives what the library gives, rounded once; any --budget agrees up to rounding',
    async () => {
      const float32 = npyModel.map((m): NpyModel => ({ ...m, dtype: '<f4', fortran: false }));
      await fc.assert(
        fc.asyncProperty(float32, fc.integer({ min: 1, max: 50 }), async (m, budget) => {
          const { bytes, values } = npyBytes(m);
          const input = file('.npy');
          fs.writeFileSync(input, bytes);
          // The library: float64 statistics and transform over a plain Float64Array (no kernels).
          const lib = new InstanceNorm1d(m.c).forward({ shape: [m.n, m.c, m.l], data: Float64Array.from(values) }).data;
          const whole = await tsnormRun('normalize', input, { output: file('.npy'), dtype: 'float64' });
          const f32 = await tsnormRun('normalize', input, { output: file('.npy') });
          const pieces = await tsnormRun('normalize', input, { output: file('.npy'), dtype: 'float64', budget: String(budget) });
          const read = (b: Buffer, type: 'f4' | 'f8'): number[] => {
            const start = b.indexOf(0x0a) + 1;
            const body = b.subarray(start);
            return type === 'f8'
              ? [...new Float64Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length))]
              : [...new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length))];
          };
          const w = read(whole.out, 'f8');
          expect(w).toEqual([...lib]);
          expect(read(f32.out, 'f4')).toEqual([...lib].map(Math.fround));
          // --budget cuts series into pieces whose moments are merged: equal up to rounding (a few
          // ulps per piece of the mean and variance, relative to the series' spread).
          const p = read(pieces.out, 'f8');
          for (let q = 0; q < m.n * m.c; q++) {
            const series = values.subarray(q * m.l, (q + 1) * m.l);
            const mean = series.reduce((s, x) => s + x, 0) / m.l;
            const sd = Math.sqrt(series.reduce((s, x) => s + (x - mean) ** 2, 0) / m.l + 1e-5);
            const largest = series.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
            for (let t = 0; t < m.l; t++) {
              const i = q * m.l + t;
              const tolerance = 16 * m.l * Number.EPSILON * (largest / sd + 1);
              if (!(Math.abs(p[i]! - w[i]!) <= tolerance)) throw new Error(`series ${q}, step ${t}, budget ${budget}: ${p[i]} vs ${w[i]}`);
            }
          }
        }),
        settings(PIPELINE_RUNS),
      );
    },
    timeoutFor(200, PIPELINE_RUNS),
  );
});

// ---------------------------------------------------------------------------------------------
// CSV

const csvModel = fc.record({
  channels: fc.integer({ min: 1, max: 3 }),
  rows: fc.integer({ min: 2, max: 60 }),
  ids: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 60, maxLength: 60 }),
  u: fc.array(fc.oneof({ arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }), weight: 20 }, { arbitrary: fc.constant(NaN), weight: 1 }), {
    minLength: 180,
    maxLength: 180,
  }),
  crlf: fc.boolean(),
  note: fc.boolean(),
});

type CsvModel = typeof csvModel extends fc.Arbitrary<infer T> ? T : never;

/** Rows with an id (runs of equal ids: a new id whenever the flag says so), a timestamp, channels and maybe a quoted note. */
function csvBytes(m: CsvModel): Uint8Array {
  const eol = m.crlf ? '\r\n' : '\n';
  const header = ['id', 't', ...Array.from({ length: m.channels }, (_, c) => `c${c}`), ...(m.note ? ['note'] : [])];
  const ids = runIds(m.ids, m.rows);
  const lines = [header.join(',')];
  for (let r = 0; r < m.rows; r++) {
    const cells = [
      `dev${ids[r]}`,
      String(1700000000 + r),
      ...Array.from({ length: m.channels }, (_, c) => {
        const x = m.u[r * 3 + c]!;
        // Missing values, but not on the first row: read live from a pipe, a column with no value
        // in the rows that arrived first is refused (csv.test.ts), not guessed.
        return Number.isNaN(x) ? (r === 0 ? '0' : '') : String(x);
      }),
      ...(m.note ? [`"n ${r}, ""q"""`] : []),
    ];
    lines.push(cells.join(','));
  }
  return new Uint8Array(Buffer.from(lines.join(eol) + eol));
}

describe('CSV runs', () => {
  it(
    'give the same bytes from a file and from a pipe in any chunks: normalize, its stats, and apply',
    async () => {
      await fc.assert(
        fc.asyncProperty(csvModel, cuts, momentum, batchSize, batchSize, async (m, at, mA, bA, bB) => {
          const bytes = csvBytes(m);
          const input = asFileAndPipe(bytes, '.csv', at);
          const table: RawOptions = { id: 'id', keep: 't', nan: 'ignore' };
          const stats = file('.json');
          const a = await tsnormRun('normalize', input.path, {
            ...table,
            momentum: mA,
            ...(bA ? { batchSize: bA } : {}),
            saveStats: stats,
            output: file('.csv'),
          });
          const piped = await tsnormRun('normalize', input.pipe, {
            ...table,
            momentum: mA,
            ...(bA ? { batchSize: bA } : {}),
            trackRunningStats: true,
            output: file('.csv'),
          });
          const otherBatches = await tsnormRun('normalize', input.pipe, {
            ...table,
            momentum: mA,
            ...(bB ? { batchSize: bB } : {}),
            trackRunningStats: true,
            output: file('.csv'),
          });
          expect(piped.out.equals(a.out), 'output from a pipe').toBe(true);
          expect(piped.stats, 'stats from a pipe').toEqual(a.stats);
          expect(otherBatches.out.equals(a.out), 'output with other running-stats batches').toBe(true);
          // apply reads live (rows as they arrive): the same bytes all the same.
          const applied = await tsnormRun('apply', input.path, { id: 'id', keep: 't', stats, output: file('.csv') });
          const appliedPiped = await tsnormRun('apply', input.pipe, { id: 'id', keep: 't', stats, output: file('.csv') });
          expect(appliedPiped.out.equals(applied.out), 'apply from a pipe').toBe(true);
        }),
        settings(PIPELINE_RUNS),
      );
    },
    timeoutFor(300, PIPELINE_RUNS),
  );
});

// ---------------------------------------------------------------------------------------------
// Arrow streams

describe('Arrow stream runs', () => {
  it(
    'give the same bytes from a file and from a pipe in any chunks',
    async () => {
      const model = fc.record({
        // Two rows at least: training needs two steps.
        batches: fc.tuple(fc.integer({ min: 2, max: 20 }), fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 3 })).map(([a, rest]) => [a, ...rest]),
        ids: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 80, maxLength: 80 }),
        u: fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 160, maxLength: 160 }),
        float32: fc.boolean(),
        to: fc.constantFrom('.arrows', '.csv', '.npy'),
      });
      await fc.assert(
        fc.asyncProperty(model, cuts, async (m, at) => {
          const rows = m.batches.reduce((a, b) => a + b, 0);
          const ids = runIds(m.ids, rows);
          const id = ids[rows - 1]!;
          const tables: A.Table[] = [];
          let start = 0;
          for (const n of m.batches) {
            const range = Array.from({ length: n }, (_, i) => start + i);
            const type = m.float32 ? new A.Float32() : new A.Float64();
            tables.push(
              new A.Table({
                id: A.vectorFromArray(
                  range.map((r) => `d${ids[r]}`),
                  new A.Utf8(),
                ),
                x: A.vectorFromArray(
                  range.map((r) => m.u[r]!),
                  type,
                ),
                y: A.vectorFromArray(
                  range.map((r) => m.u[80 + r]!),
                  type,
                ),
              }),
            );
            start += n;
          }
          const table = tables.slice(1).reduce((t, b) => t.concat(b), tables[0]!);
          const bytes = A.tableToIPC(table, 'stream');
          const input = asFileAndPipe(bytes, '.arrows', at);
          // .npy output needs instances of one length: only when there is a single one.
          const to = m.to === '.npy' && id > 0 ? '.csv' : m.to;
          const a = await tsnormRun('normalize', input.path, { id: 'id', output: file(to) });
          const piped = await tsnormRun('normalize', input.pipe, { id: 'id', output: file(to) });
          expect(piped.out.equals(a.out)).toBe(true);
        }),
        settings(PIPELINE_RUNS),
      );
    },
    timeoutFor(200, PIPELINE_RUNS),
  );
});
