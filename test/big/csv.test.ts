/**
 * A CSV file over 2 GiB, normalized CSV to CSV with bounded memory: long layout, `--id id --keep t`,
 * columns id,t,note,c0,c1,c2 (note a text column that passes through), instances of 5,000 to
 * 15,000 rows, 2.16 GB. The rows of a sample of instances (the first, the last, the one at 2 GiB,
 * those beyond it, and others spread through the file) are checked against an exact float64
 * reference computed here from the input's bytes, read by offset; the pass-through cells must
 * come back byte for byte.
 */
import fs from 'node:fs';
import path from 'node:path';
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

const C = 3;
const HEADER = 'id,t,note,c0,c1,c2\n';
/** Generation stops after the instance that takes the file past this size. */
const TARGET_BYTES = 2 * GiB + 16 * 2 ** 20;
const SEED = 0x5eed_0002;

interface Instance {
  /** Byte offset of its first row in the input. */
  offset: number;
  /** Byte length of its rows. */
  length: number;
  /** Index of its first data row (0 = the line after the header). */
  firstRow: number;
  rows: number;
}

const NOTES = [
  'calibrated at the start of the shift; sensor mounted on the left rail',
  'ok',
  'field unit 7 / firmware 2.4.1 / battery swapped two days before this run',
  're-run after the network outage; readings before 06:00 may be delayed by up to 40 s',
  'baseline',
  'north hall / second floor / near the loading door (drafty in winter)',
  'spare device borrowed from the lab: treat its offsets with care',
  'vibration test: motor at 1450 rpm; load 80 percent; ambient 21 C',
];

/**
 * Streams the input, writing rows into a 16 MB buffer: values are text with 8 decimals built from
 * tables (an integer part around a per-series level, a fraction from xorshift32), so that the
 * 2 GiB are written in seconds. Returns where each instance lies.
 */
function generate(file: string): { instances: Instance[]; rows: number; bytes: number } {
  const out = new ChunkWriter(file);
  const buf = Buffer.alloc(16 << 20);
  const frac = Buffer.alloc(40_000);
  for (let i = 0; i < 10_000; i++) frac.write(String(i).padStart(4, '0'), i * 4, 'latin1');
  const ints: Buffer[] = [];
  for (let i = -1100; i <= 1100; i++) ints.push(Buffer.from(String(i), 'latin1'));
  const steps: Buffer[] = [];
  for (let i = 0; i < 15_001; i++) steps.push(Buffer.from(`,${i},`, 'latin1'));
  const notes = NOTES.map((s) => Buffer.from(s, 'latin1'));
  const rng = new Rng(SEED);
  let s = 0x2545f491;
  let pos = buf.write(HEADER, 0, 'latin1');
  const instances: Instance[] = [];
  let rowsSoFar = 0;
  const levels = new Int32Array(C);
  const spreads = new Int32Array(C);
  while (out.written + pos < TARGET_BYTES) {
    const n = instances.length;
    const id = Buffer.from(`d${String(n).padStart(6, '0')}`, 'latin1');
    const rows = 5000 + rng.below(10_001);
    for (let c = 0; c < C; c++) {
      levels[c] = rng.below(2001) - 1000 + 1100; // index into ints: a level in [-1000, 1000]
      spreads[c] = [1, 3, 17, 101][rng.below(4)]!; // the integer part varies over [0, spread)
    }
    const noteOf = rng.below(notes.length);
    const start = out.written + pos;
    for (let r = 0; r < rows; r++) {
      if (pos > buf.length - 4096) {
        out.write(buf.subarray(0, pos));
        pos = 0;
      }
      pos += id.copy(buf, pos);
      pos += steps[r]!.copy(buf, pos);
      pos += notes[(noteOf + (r >>> 10)) % notes.length]!.copy(buf, pos);
      for (let c = 0; c < C; c++) {
        s ^= s << 13;
        s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5;
        s >>>= 0;
        buf[pos++] = 44;
        pos += ints[levels[c]! + ((s >>> 24) % spreads[c]!)]!.copy(buf, pos);
        buf[pos++] = 46;
        const a = (s % 10_000) * 4;
        const b = ((s >>> 9) % 10_000) * 4;
        buf[pos] = frac[a]!;
        buf[pos + 1] = frac[a + 1]!;
        buf[pos + 2] = frac[a + 2]!;
        buf[pos + 3] = frac[a + 3]!;
        buf[pos + 4] = frac[b]!;
        buf[pos + 5] = frac[b + 1]!;
        buf[pos + 6] = frac[b + 2]!;
        buf[pos + 7] = frac[b + 3]!;
        pos += 8;
      }
      buf[pos++] = 10;
    }
    instances.push({ offset: start, length: out.written + pos - start, firstRow: rowsSoFar, rows });
    rowsSoFar += rows;
  }
  out.write(buf.subarray(0, pos));
  out.close();
  return { instances, rows: rowsSoFar, bytes: out.written };
}

/** Lines of a byte range of text, without their line feeds. */
function lines(bytes: Buffer): string[] {
  const text = bytes.toString('latin1');
  const all = text.split('\n');
  expect(all.at(-1)).toBe('');
  all.pop();
  return all;
}

/**
 * One pass over the output: counts its lines and keeps those of the wanted data rows (ranges
 * ascending, data row r being line r + 1), without holding more than one 8 MB piece.
 */
function outputRows(file: string, ranges: { firstRow: number; rows: number }[]): { kept: string[][]; lines: number; header: string } {
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.alloc(8 << 20);
  const kept: string[][] = ranges.map(() => []);
  let line = 0;
  let header = '';
  let carry: Buffer = Buffer.alloc(0);
  let k = 0;
  try {
    for (;;) {
      const got = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (got === 0) break;
      const piece = carry.length ? Buffer.concat([carry, chunk.subarray(0, got)]) : chunk.subarray(0, got);
      let from = 0;
      for (;;) {
        const nl = piece.indexOf(10, from);
        if (nl < 0) break;
        if (line === 0) header = piece.toString('latin1', from, nl);
        else {
          const row = line - 1;
          while (k < ranges.length && row >= ranges[k]!.firstRow + ranges[k]!.rows) k++;
          if (k < ranges.length && row >= ranges[k]!.firstRow) kept[k]!.push(piece.toString('latin1', from, nl));
        }
        line++;
        from = nl + 1;
      }
      carry = Buffer.from(piece.subarray(from));
    }
    expect(carry.length, 'the output ends with a line feed').toBe(0);
  } finally {
    fs.closeSync(fd);
  }
  return { kept, lines: line, header };
}

describe('a CSV file over 2 GiB', () => {
  const { dir, cleanup } = bigDir('csv');
  afterAll(() => {
    killRunning();
    cleanup();
  });

  it('normalizes CSV to CSV with peak RSS under 200 MiB, and the sampled instances match the reference', { timeout: 30 * 60_000 }, async () => {
    const input = path.join(dir, 'big.csv');
    const output = path.join(dir, 'big.norm.csv');
    // The output's numbers are longer (up to 23 characters for 8 + 1 + 8 here): about 1.3 x.
    requireFreeSpace(dir, 2.5 * TARGET_BYTES + GiB, 'the CSV test (input and output)');
    try {
      const gen = await timed(() => generate(input));
      const { instances, rows, bytes } = gen.value;
      expect(fs.statSync(input).size).toBe(bytes);
      expect(bytes).toBeGreaterThan(2 * GiB);

      const run = await runMeasured(['normalize', input, '-o', output, '--id', 'id', '--keep', 't', '-q']);
      const outBytes = fs.existsSync(output) ? fs.statSync(output).size : 0;
      report(
        `csv: ${gb(bytes)} (${rows} rows x 6 columns, ${instances.length} instances) -> ${gb(outBytes)}; ` +
          `generate ${gen.seconds.toFixed(1)} s, normalize ${run.seconds.toFixed(1)} s ` +
          `(${(bytes / 1e6 / run.seconds).toFixed(0)} MB/s in), exit ${run.status}, peak RSS ${mib(run.peakRssBytes)} (${run.rssSource})`,
      );
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);

      const verify = await timed(() => {
        const at2GiB = instances.findIndex((i) => i.offset + i.length > 2 * GiB);
        const at1GiB = instances.findIndex((i) => i.offset + i.length > GiB);
        const sample = sampleInstances(instances.length, 20, [at1GiB, at2GiB, at2GiB + 1, instances.length - 2]);
        expect(sample.some((n) => instances[n]!.offset > 2 * GiB)).toBe(true);
        const picked = sample.map((n) => instances[n]!);
        const out = outputRows(output, picked);
        expect(out.header).toBe(HEADER.trimEnd());
        expect(out.lines).toBe(rows + 1);
        let worst = 0;
        for (let j = 0; j < picked.length; j++) {
          const inst = picked[j]!;
          const inRows = lines(readAt(input, inst.offset, inst.length)).map((l) => l.split(','));
          const outRows = out.kept[j]!.map((l) => l.split(','));
          expect(inRows.length).toBe(inst.rows);
          expect(outRows.length).toBe(inst.rows);
          for (let r = 0; r < inst.rows; r++) {
            // id, t and note pass through byte for byte.
            if (outRows[r]!.slice(0, 3).join(',') !== inRows[r]!.slice(0, 3).join(',') || outRows[r]!.length !== 6) {
              throw new Error(`instance ${sample[j]} row ${r}: pass-through cells differ: ${outRows[r]!.join(',')} vs ${inRows[r]!.join(',')}`);
            }
          }
          for (let c = 0; c < C; c++) {
            const xs = inRows.map((cells) => Number(cells[3 + c]));
            const { mean, variance } = seriesMoments(xs);
            const scale = 1 / Math.sqrt(variance + EPS);
            for (let r = 0; r < inst.rows; r++) {
              const want = (xs[r]! - mean) * scale;
              const got = Number(outRows[r]![3 + c]);
              const err = Math.abs(got - want);
              worst = Math.max(worst, err / Math.max(1, Math.abs(want)));
              // 1e-12 relative, plus what a few float64 roundings of x - mean can move the value.
              const tol = 1e-12 * Math.max(1, Math.abs(want)) + 4 * Number.EPSILON * (Math.abs(xs[r]!) + Math.abs(mean)) * scale;
              if (!(err <= tol)) {
                throw new Error(
                  `instance ${sample[j]} (rows ${inst.firstRow}..) channel c${c} row ${r}: got ${got}, want ${want} (mean ${mean}, var ${variance})`,
                );
              }
            }
          }
        }
        return { sample, worst };
      });
      report(
        `csv: verify ${verify.seconds.toFixed(1)} s; instances checked ${verify.value.sample.join(',')} of ${instances.length}; ` +
          `worst relative error ${verify.value.worst.toExponential(2)}`,
      );
      expect(run.peakRssBytes, `peak RSS ${mib(run.peakRssBytes)}`).toBeLessThan(RSS_LIMIT_BYTES);
    } finally {
      fs.rmSync(input, { force: true });
      fs.rmSync(output, { force: true });
    }
  });
});
