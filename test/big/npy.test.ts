/**
 * An NPY file over 4 GiB, normalized with bounded memory: float32 (N, C, L) = (360, 2, 1500007),
 * 4.32 GB. Each series (1.5M values) is longer than the reader's group (1M values), so it arrives
 * in two pieces, held until the series ends. The last instances lie wholly beyond 4 GiB and one
 * straddles it. A sample of 20 instances is checked against an exact float64 reference computed
 * here from the input's bytes, read by offset.
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
  ulp32,
} from './big.js';

const N = 360;
const C = 2;
const L = 1_500_007;
const VALUES = N * C * L;
const SEED = 0x5eed_0001;

/** An NPY 1.0 header for little-endian float32 (N, C, L), padded to 64 bytes. */
function npyHeader(shape: number[]): Buffer {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(dict.length, 8);
  return Buffer.concat([h, Buffer.from(dict, 'latin1')]);
}

function float32s(b: Buffer): Float32Array {
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

/** Where the data of an NPY file starts, and its header's text. */
function npyDataOffset(file: string): { offset: number; header: string } {
  const pre = readAt(file, 0, 12);
  expect(pre.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  const major = pre[6]!;
  const len = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  return { offset: start + len, header: readAt(file, start, len).toString('latin1') };
}

/**
 * Streams the input: per series a level and a spread from the PRNG (levels up to ±1000 with
 * spreads down to 1e-3, so that float32 rounding and cancellation matter), values
 * level + spread * (u - 0.5) from xorshift32, written 16M values at a time.
 */
function generate(file: string): number {
  const header = npyHeader([N, C, L]);
  const out = new ChunkWriter(file);
  out.write(header);
  const chunk = new Float32Array(16 << 20);
  const bytes = new Uint8Array(chunk.buffer);
  const rng = new Rng(SEED);
  let s = 0x9e3779b9;
  let fill = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const level = (rng.uniform() - 0.5) * 2000;
      const spread = 10 ** (rng.uniform() * 5 - 3);
      let t = 0;
      while (t < L) {
        const end = Math.min(L, t + chunk.length - fill);
        for (; t < end; t++) {
          s ^= s << 13;
          s >>>= 0;
          s ^= s >>> 17;
          s ^= s << 5;
          s >>>= 0;
          chunk[fill++] = level + spread * (s * 2.3283064365386963e-10 - 0.5);
        }
        if (fill === chunk.length) {
          out.write(bytes);
          fill = 0;
        }
      }
    }
  }
  out.write(bytes.subarray(0, fill * 4));
  out.close();
  return header.length;
}

describe('an NPY file over 4 GiB', () => {
  const { dir, cleanup } = bigDir('npy');
  afterAll(() => {
    killRunning();
    cleanup();
  });

  it('normalizes with peak RSS under 200 MiB, and the sampled instances match the reference', { timeout: 30 * 60_000 }, async () => {
    const input = path.join(dir, 'big.npy');
    const output = path.join(dir, 'big.norm.npy');
    const expectedSize = 128 + VALUES * 4;
    requireFreeSpace(dir, 2 * expectedSize + GiB, 'the NPY test (input and output)');
    try {
      const gen = await timed(() => generate(input));
      const dataStart = gen.value;
      expect(fs.statSync(input).size).toBe(dataStart + VALUES * 4);
      expect(fs.statSync(input).size).toBeGreaterThan(4 * GiB);

      const run = await runMeasured(['normalize', input, '-o', output, '-q']);
      report(
        `npy: ${gb(expectedSize)} float32 (${N}, ${C}, ${L}); generate ${gen.seconds.toFixed(1)} s, ` +
          `normalize ${run.seconds.toFixed(1)} s (${(expectedSize / 1e6 / run.seconds).toFixed(0)} MB/s), ` +
          `exit ${run.status}, peak RSS ${mib(run.peakRssBytes)} (${run.rssSource})`,
      );
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);

      const verify = await timed(() => {
        const out = npyDataOffset(output);
        expect(out.header).toMatch(/'descr': '<f4'/);
        expect(out.header).toMatch(/'fortran_order': False/);
        expect(out.header).toMatch(new RegExp(`'shape': \\(${N}, ${C}, ${L}\\)`));
        expect(fs.statSync(output).size).toBe(out.offset + VALUES * 4);

        const instanceBytes = C * L * 4;
        const at4GiB = Math.floor((4 * GiB - dataStart) / instanceBytes);
        const at2GiB = Math.floor((2 * GiB - dataStart) / instanceBytes);
        const sample = sampleInstances(N, 20, [at2GiB, at4GiB, N - 2]);
        // At least one sampled instance lies wholly beyond 4 GiB.
        expect(sample.some((n) => dataStart + n * instanceBytes > 4 * GiB)).toBe(true);
        let worstUlps = 0;
        let notNearest = 0;
        for (const n of sample) {
          const xs = float32s(readAt(input, dataStart + n * instanceBytes, instanceBytes));
          const ys = float32s(readAt(output, out.offset + n * instanceBytes, instanceBytes));
          for (let c = 0; c < C; c++) {
            const base = c * L;
            const { mean, variance } = seriesMoments(xs.subarray(base, base + L));
            const scale = 1 / Math.sqrt(variance + EPS);
            let bad = -1;
            for (let i = 0; i < L; i++) {
              const want = (xs[base + i]! - mean) * scale;
              const got = ys[base + i]!;
              const err = Math.abs(got - want);
              // Rounded once from float64: within half an ulp of float32, plus what a few float64
              // roundings of x - mean (the mean known to a few ulps) can move the value.
              const ulp = ulp32(got);
              if (err > worstUlps * ulp) worstUlps = err / ulp;
              if (got !== Math.fround(want)) notNearest++;
              const noise = 4 * Number.EPSILON * (Math.abs(xs[base + i]!) + Math.abs(mean)) * scale;
              if (!(err <= 0.5 * ulp + noise) && bad < 0) bad = i;
            }
            if (bad >= 0) {
              const want = (xs[base + bad]! - mean) * scale;
              throw new Error(`instance ${n} channel ${c} step ${bad}: got ${ys[base + bad]}, want ${want} (mean ${mean}, var ${variance})`);
            }
          }
        }
        return { sample, worstUlps, notNearest };
      });

      report(
        `npy: verify ${verify.seconds.toFixed(1)} s; instances checked ${verify.value.sample.join(',')}; worst error ${verify.value.worstUlps.toFixed(3)} ulp, ` +
          `${verify.value.notNearest} values not the float32 nearest to the reference`,
      );
      expect(run.peakRssBytes, `peak RSS ${mib(run.peakRssBytes)}`).toBeLessThan(RSS_LIMIT_BYTES);
    } finally {
      fs.rmSync(input, { force: true });
      fs.rmSync(output, { force: true });
    }
  });
});
