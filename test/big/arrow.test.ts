/**
 * An Arrow IPC file (Feather v2) over 2 GiB, normalized Arrow to Arrow with bounded memory: long
 * layout, columns id int32, t int64 (passes through, `--keep t`), c0 and c1 float64, in record
 * batches of 131,072 rows (3.7 MB) written with apache-arrow; instances of 60,000 to 140,000 rows,
 * so most cross a batch boundary; 2.18 GB. A sample of instances (the first, the last, those at
 * 1 and 2 GiB and beyond) is checked against an exact float64 reference computed here from the
 * input's record batches; the output's batches are found through its footer (record batch
 * offsets beyond 2 GiB), their lengths read from their metadata, and only the needed ones read.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as A from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EPS,
  GiB,
  RSS_LIMIT_BYTES,
  ChunkWriter,
  Rng,
  bigDir,
  gb,
  killRunning,
  mib,
  readAt,
  report,
  requireFreeSpace,
  runMeasured,
  sampleInstances,
  seriesMoments,
  timed,
} from './big.js';

const BATCH_ROWS = 131_072;
const ROW_BYTES = 4 + 8 + 8 + 8;
/** Instances are added until their rows take this many bytes. */
const TARGET_BYTES = 2 * GiB + 32 * 2 ** 20;
const SEED = 0x5eed_0003;
const T0 = 1_700_000_000_000; // ms since the epoch: t = T0 + 1000 * step

interface Instance {
  firstRow: number;
  rows: number;
}

/** What apache-arrow's writer produces for one call, collected so that it can be written at once. */
class CollectingQueue extends A.AsyncByteQueue {
  chunks: Uint8Array[] = [];
  override write(chunk: Parameters<A.AsyncByteQueue['write']>[0]): void {
    this.chunks.push(chunk as Uint8Array);
  }
}

const SCHEMA = new A.Schema([
  new A.Field('id', new A.Int32(), false),
  new A.Field('t', new A.Int64(), false),
  new A.Field('c0', new A.Float64(), false),
  new A.Field('c1', new A.Float64(), false),
]);

/**
 * Streams the input a record batch at a time (the batch's arrays reused), each written to the file
 * as soon as apache-arrow has framed it. Per instance and channel a level (up to ±10,000) and a
 * spread (1e-2 to 1e3); values level + spread * (u - 0.5), u from xorshift32.
 */
function generate(file: string): { instances: Instance[]; rows: number; bytes: number; batchOffsets: number[] } {
  const rng = new Rng(SEED);
  const instances: Instance[] = [];
  let rows = 0;
  while (rows * ROW_BYTES < TARGET_BYTES) {
    const n = 60_000 + rng.below(80_001);
    instances.push({ firstRow: rows, rows: n });
    rows += n;
  }
  const ids = new Int32Array(BATCH_ROWS);
  const ts = new BigInt64Array(BATCH_ROWS);
  const tWords = new Int32Array(ts.buffer);
  const c0 = new Float64Array(BATCH_ROWS);
  const c1 = new Float64Array(BATCH_ROWS);
  const out = new ChunkWriter(file);
  const queue = new CollectingQueue();
  const writer = new A.RecordBatchFileWriter();
  writer.reset(queue, SCHEMA);
  const drain = () => {
    for (const chunk of queue.chunks) out.write(chunk);
    queue.chunks = [];
  };
  drain();
  const batchOffsets: number[] = [];
  let s = 0x6a09e667;
  let n = -1;
  let end = 0;
  let level0 = 0,
    spread0 = 0,
    level1 = 0,
    spread1 = 0;
  for (let first = 0; first < rows; first += BATCH_ROWS) {
    const count = Math.min(BATCH_ROWS, rows - first);
    for (let i = 0; i < count; i++) {
      const row = first + i;
      if (row === end) {
        n++;
        end = instances[n]!.firstRow + instances[n]!.rows;
        level0 = (rng.uniform() - 0.5) * 2e4;
        spread0 = 10 ** (rng.uniform() * 5 - 2);
        level1 = (rng.uniform() - 0.5) * 2e4;
        spread1 = 10 ** (rng.uniform() * 5 - 2);
      }
      ids[i] = n;
      const t = T0 + 1000 * (row - instances[n]!.firstRow);
      tWords[2 * i] = (t % 2 ** 32) | 0;
      tWords[2 * i + 1] = Math.floor(t / 2 ** 32);
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      c0[i] = level0 + spread0 * (s * 2.3283064365386963e-10 - 0.5);
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      c1[i] = level1 + spread1 * (s * 2.3283064365386963e-10 - 0.5);
    }
    const children = [
      A.makeData({ type: new A.Int32(), length: count, nullCount: 0, data: ids.subarray(0, count) }),
      A.makeData({ type: new A.Int64(), length: count, nullCount: 0, data: ts.subarray(0, count) }),
      A.makeData({ type: new A.Float64(), length: count, nullCount: 0, data: c0.subarray(0, count) }),
      A.makeData({ type: new A.Float64(), length: count, nullCount: 0, data: c1.subarray(0, count) }),
    ];
    const batch = new A.RecordBatch(SCHEMA, A.makeData({ type: new A.Struct(SCHEMA.fields), length: count, nullCount: 0, children }));
    batchOffsets.push(out.written);
    writer.write(batch);
    drain();
  }
  writer.finish();
  drain();
  out.close();
  return { instances, rows, bytes: out.written, batchOffsets };
}

/** An Arrow IPC file's record batches, read through apache-arrow's file reader (its footer). */
async function openFile(file: string) {
  const handle = await fsp.open(file, 'r');
  const reader = await A.RecordBatchReader.from(handle);
  await reader.open();
  if (!reader.isFile() || !reader.isAsync()) throw new Error(`${file}: not an Arrow IPC file`);
  return { reader, close: () => handle.close() };
}

/** The row count of each record batch of a file, from its footer and the batches' metadata only. */
function batchLengths(file: string, footer: NonNullable<A.AsyncRecordBatchFileReader['footer']>): { offsets: number[]; lengths: number[] } {
  const offsets: number[] = [];
  const lengths: number[] = [];
  for (let i = 0; i < footer.numRecordBatches; i++) {
    const block = footer.getRecordBatch(i)!;
    const offset = Number(block.offset);
    const meta = readAt(file, offset, block.metaDataLength);
    // The encapsulated message: 0xFFFFFFFF, the flatbuffer's length, the flatbuffer.
    const framed = meta.readInt32LE(0) === -1;
    const len = meta.readInt32LE(framed ? 4 : 0);
    const start = framed ? 8 : 4;
    const message = A.Message.decode(meta.subarray(start, start + len));
    if (!message.isRecordBatch()) throw new Error(`${file}: footer block ${i} at ${offset} is not a record batch`);
    offsets.push(offset);
    lengths.push(Number(message.header().length));
  }
  return { offsets, lengths };
}

/** Rows [from, from + count) of a file's columns, from the record batches that hold them. */
async function rowsOf(
  read: (i: number) => Promise<A.RecordBatch | null>,
  starts: number[],
  from: number,
  count: number,
): Promise<{ id: Int32Array; t: BigInt64Array; c: Float64Array[] }> {
  const id = new Int32Array(count);
  const t = new BigInt64Array(count);
  const c = [new Float64Array(count), new Float64Array(count)];
  let b = 0;
  while (b + 1 < starts.length && starts[b + 1]! <= from) b++;
  for (let got = 0; got < count; b++) {
    const batch = await read(b);
    if (!batch) throw new Error(`record batch ${b} missing`);
    const lo = from + got - starts[b]!;
    const take = Math.min(batch.numRows - lo, count - got);
    const column = <T extends A.DataType>(name: string) => {
      const v = batch.getChild(name) as A.Vector<T> | null;
      if (!v) throw new Error(`no column ${name}`);
      return v;
    };
    id.set((column<A.Int32>('id').toArray() as Int32Array).subarray(lo, lo + take), got);
    t.set((column<A.Int64>('t').toArray() as BigInt64Array).subarray(lo, lo + take), got);
    for (let ch = 0; ch < 2; ch++) {
      const v = column<A.Float64>(`c${ch}`);
      expect(v.nullCount).toBe(0);
      c[ch]!.set((v.toArray() as Float64Array).subarray(lo, lo + take), got);
    }
    got += take;
  }
  return { id, t, c };
}

describe('an Arrow IPC file over 2 GiB', () => {
  const { dir, cleanup } = bigDir('arrow');
  afterAll(() => {
    killRunning();
    cleanup();
  });

  it('normalizes Arrow to Arrow with peak RSS under 200 MiB, and the sampled instances match the reference', { timeout: 30 * 60_000 }, async () => {
    const input = path.join(dir, 'big.arrow');
    const output = path.join(dir, 'big.norm.arrow');
    requireFreeSpace(dir, 2 * TARGET_BYTES + GiB, 'the Arrow test (input and output)');
    try {
      const gen = await timed(() => generate(input));
      const { instances, rows, bytes, batchOffsets } = gen.value;
      expect(fs.statSync(input).size).toBe(bytes);
      expect(bytes).toBeGreaterThan(2 * GiB);

      const run = await runMeasured(['normalize', input, '-o', output, '--id', 'id', '--keep', 't', '-q']);
      const outBytes = fs.existsSync(output) ? fs.statSync(output).size : 0;
      report(
        `arrow: ${gb(bytes)} (${rows} rows: id int32, t int64, c0 c1 float64; ${instances.length} instances; ` +
          `${batchOffsets.length} record batches) -> ${gb(outBytes)}; generate ${gen.seconds.toFixed(1)} s, ` +
          `normalize ${run.seconds.toFixed(1)} s (${(bytes / 1e6 / run.seconds).toFixed(0)} MB/s), exit ${run.status}, ` +
          `peak RSS ${mib(run.peakRssBytes)} (${run.rssSource})`,
      );
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);

      const verify = await timed(async () => {
        const inFile = await openFile(input);
        const outFile = await openFile(output);
        try {
          const outSchema = outFile.reader.schema;
          expect(outSchema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(SCHEMA.fields.map((f) => `${f.name}:${String(f.type)}`));
          const outBatches = batchLengths(output, outFile.reader.footer!);
          const outStarts: number[] = [];
          let total = 0;
          for (const len of outBatches.lengths) {
            outStarts.push(total);
            total += len;
          }
          expect(total).toBe(rows);
          expect(Math.max(...outBatches.offsets)).toBeGreaterThan(2 * GiB);
          const inStarts = batchOffsets.map((_, i) => i * BATCH_ROWS);

          const byteOf = (inst: Instance) => batchOffsets[Math.floor(inst.firstRow / BATCH_ROWS)]!;
          const at = (limit: number) => instances.findIndex((_, k) => k + 1 === instances.length || byteOf(instances[k + 1]!) > limit);
          const sample = sampleInstances(instances.length, 20, [at(GiB), at(2 * GiB), at(2 * GiB) + 1, instances.length - 2]);
          expect(sample.some((k) => byteOf(instances[k]!) > 2 * GiB)).toBe(true);
          let worst = 0;
          for (const k of sample) {
            const inst = instances[k]!;
            const x = await rowsOf((i) => inFile.reader.readRecordBatch(i), inStarts, inst.firstRow, inst.rows);
            const y = await rowsOf((i) => outFile.reader.readRecordBatch(i), outStarts, inst.firstRow, inst.rows);
            for (let r = 0; r < inst.rows; r++) {
              if (x.id[r] !== k || y.id[r] !== k || x.t[r] !== y.t[r]) {
                throw new Error(`instance ${k} row ${r}: id ${x.id[r]} -> ${y.id[r]}, t ${x.t[r]} -> ${y.t[r]}`);
              }
            }
            for (let ch = 0; ch < 2; ch++) {
              const xs = x.c[ch]!;
              const ys = y.c[ch]!;
              const { mean, variance } = seriesMoments(xs);
              const scale = 1 / Math.sqrt(variance + EPS);
              for (let r = 0; r < inst.rows; r++) {
                const want = (xs[r]! - mean) * scale;
                const got = ys[r]!;
                const err = Math.abs(got - want);
                worst = Math.max(worst, err / Math.max(1, Math.abs(want)));
                // 1e-12 relative, plus what a few float64 roundings of x - mean can move the value.
                const tol = 1e-12 * Math.max(1, Math.abs(want)) + 4 * Number.EPSILON * (Math.abs(xs[r]!) + Math.abs(mean)) * scale;
                if (!(err <= tol)) {
                  throw new Error(`instance ${k} (rows ${inst.firstRow}..) channel c${ch} row ${r}: got ${got}, want ${want} (mean ${mean}, var ${variance})`);
                }
              }
            }
          }
          return { sample, worst, outBatches: outBatches.lengths.length };
        } finally {
          await inFile.close();
          await outFile.close();
        }
      });
      report(
        `arrow: verify ${verify.seconds.toFixed(1)} s; output ${verify.value.outBatches} record batches; ` +
          `instances checked ${verify.value.sample.join(',')} of ${instances.length}; worst relative error ${verify.value.worst.toExponential(2)}`,
      );
      expect(run.peakRssBytes, `peak RSS ${mib(run.peakRssBytes)}`).toBeLessThan(RSS_LIMIT_BYTES);
    } finally {
      fs.rmSync(input, { force: true });
      fs.rmSync(output, { force: true });
    }
  });
});
