import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferPool, classBytes, sizeClass } from '../../src/io/buffer-pool.js';
import { workerScript } from '../../src/io/worker-script.js';
import { resolvePlan } from '../../src/cli/resolve.js';
import { run } from '../../src/pipeline/run.js';
import { FIXTURES, tempDir } from '../helpers/cli.js';
import { FormatThread } from '../../src/formats/csv/format-thread.js';
import { RowBytes } from '../../src/formats/csv/row-bytes.js';
import { type RowLayout, rewriteRows } from '../../src/formats/csv/row-rewrite.js';
import { RecordSplitter } from '../../src/formats/csv/records.js';

// The pieces of CSV output formatted off the main thread: rows rewritten in one WebAssembly call
// (RowBytes.rows) against the JavaScript loop they replace, the worker's failures, the pool.

const SETTINGS = { numRuns: Number(process.env.TSNORM_PROP_RUNS ?? 200), seed: 7 };

describe('RowBytes.rows (rows rewritten in the module)', () => {
  const value = fc.oneof(fc.double(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 5e-324, 1.7976931348623157e308, 1e21, 1e-7, 123456789012345680000));
  it('writes the bytes the JavaScript loop writes, for rows cut anywhere in a read', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.stringMatching(/^[a-z0-9.é-]{0,5}$/), { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 20 }),
        fc.subarray([0, 1, 2, 3], { minLength: 1 }),
        fc.array(value, { minLength: 80, maxLength: 80 }),
        fc.constantFrom('\n', '\r\n'),
        fc.nat(19),
        (cells, valueColumns, values, terminator, skip) => {
          const text = cells.map((r) => r.join(',')).join(terminator) + terminator;
          const batch = new RecordSplitter('f', ',').push(Buffer.from(text, 'utf8'));
          const first = Math.min(skip, batch.count - 1);
          const count = batch.count - first;
          const C = valueColumns.length;
          // Values of value k in row order; cells in their order in the row (here reversed in the values).
          const order = valueColumns.map((_, k) => C - 1 - k);
          const layout: RowLayout = {
            orderValue: Int32Array.from(order),
            orderColumn: Int32Array.from(valueColumns),
            delimiter: 44,
            terminator: Buffer.from(terminator),
          };
          const packed = Float64Array.from({ length: count * C }, (_, i) => values[i % values.length]!);
          const js = new RowBytes();
          rewriteRows(
            js,
            {
              bytes: batch.bytes,
              records: batch.records,
              spans: batch.spans,
              columns: batch.columns,
              first,
              count,
              values: packed,
              offset: 0,
              rowStride: C,
              cellStride: 1,
            },
            layout,
          );
          const base = batch.records[2 * first]!;
          const end = batch.records[2 * (first + count) - 1]!;
          const wasm = new RowBytes();
          wasm.rows(
            {
              bytes: batch.bytes.slice(base, end),
              origin: base,
              records: batch.records.subarray(2 * first, 2 * (first + count)),
              spans: batch.spans.subarray(first * batch.columns * 2, (first + count) * batch.columns * 2),
              values: packed,
              columns: batch.columns,
              count,
              cells: C,
            },
            layout,
          );
          expect(Buffer.from(wasm.view()).toString('latin1')).toBe(Buffer.from(js.view()).toString('latin1'));
        },
      ),
      SETTINGS,
    );
  });
});

describe('FormatThread', () => {
  const layout: RowLayout = { orderValue: Int32Array.of(0), orderColumn: Int32Array.of(1), delimiter: 44, terminator: Buffer.from('\n') };
  const job = () => ({
    bytes: new Uint8Array(8),
    origin: 0,
    records: new Int32Array(2),
    spans: new Int32Array(4),
    values: new Float64Array(1),
    columns: 2,
    count: 1,
    cells: 1,
    out: new ArrayBuffer(64),
  });

  it('a worker whose script fails: the job is refused with its message, and later ones too', async () => {
    const thread = new FormatThread({ code: "throw new Error('boom')" }, layout, undefined);
    await expect(thread.format(job())).rejects.toThrow(/^CSV formatting worker: boom$/);
    await expect(thread.format(job())).rejects.toThrow(/^CSV formatting worker: boom$/);
    thread.close();
  });

  it('a worker that exits: the jobs waiting on it are refused', async () => {
    const thread = new FormatThread({ code: "require('node:worker_threads').parentPort.on('message', () => process.exit(3))" }, layout, undefined);
    await expect(thread.format(job())).rejects.toThrow(/^CSV formatting worker: the formatting worker stopped \(exit 3\)$/);
    thread.close();
  });
});

describe('BufferPool', () => {
  it('gives a buffer at most 9% larger than asked (from 4 KB), and takes it back for reuse', () => {
    const pool = new BufferPool(2);
    for (const n of [1, 4096, 4097, 5000, 65536, 65636, 1e6, 3e7]) {
      const b = pool.take(n);
      expect(b.byteLength).toBeGreaterThanOrEqual(n);
      expect(b.byteLength).toBeLessThanOrEqual(Math.max(4096, n * 1.0905) + 8);
      expect(classBytes(sizeClass(b.byteLength))).toBe(b.byteLength);
    }
    const a = pool.take(5000);
    pool.put(a);
    expect(pool.take(a.byteLength - 100)).toBe(a);
    expect(pool.take(a.byteLength - 100)).not.toBe(a);
  });

  it('keeps at most `keep` buffers of a size, and none of a size it does not hand out', () => {
    const pool = new BufferPool(1);
    const [a, b] = [pool.take(4096), pool.take(4096)];
    pool.put(a);
    pool.put(b);
    pool.put(new ArrayBuffer(4100));
    expect(pool.take(4096)).toBe(a);
    expect(pool.take(4096)).not.toBe(b);
  });
});

describe('the library, run from its sources (no worker script built beside them)', () => {
  it('formats in its own thread whatever --threads says, with the bytes of one thread', async () => {
    const tmp = tempDir();
    try {
      const input = path.join(FIXTURES, 'golden/input-plain.csv');
      const out = (name: string) => path.join(tmp.dir, name);
      const flags = { id: 'device', keep: 'ts', quiet: true };
      expect(workerScript('csv-format-worker.cjs')).toBeUndefined();
      await run(resolvePlan('normalize', [input], { ...flags, output: out('four.csv'), threads: '4', offThreadAfter: '0' }));
      await run(resolvePlan('normalize', [input], { ...flags, output: out('one.csv'), threads: '1' }));
      expect(fs.readFileSync(out('four.csv')).equals(fs.readFileSync(out('one.csv')))).toBe(true);
      expect(fs.readFileSync(out('one.csv')).equals(fs.readFileSync(path.join(FIXTURES, 'golden/plain-normalize.csv')))).toBe(true);
    } finally {
      tmp.cleanup();
    }
  });
});
