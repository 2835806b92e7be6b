import type { Values } from './block.js';
import { deviationsF32, kernelReady, sumF32 } from './kernels/kernels.js';

/**
 * Per-channel float64 moments (count, mean, sum of squared deviations) of one instance,
 * fed in chunks. Each chunk is reduced with the corrected two-pass algorithm, then merged
 * with Chan's parallel formula, so a series can arrive in any number of pieces and the
 * result does not depend on where they were cut (up to rounding).
 */
export class ChannelMoments {
  readonly count: Float64Array;
  /** The mean as an unevaluated sum hi + lo: merging many small pieces then loses no digits. */
  private readonly meanHi: Float64Array;
  private readonly meanLo: Float64Array;
  readonly m2: Float64Array;

  constructor(readonly channels: number) {
    this.count = new Float64Array(channels);
    this.meanHi = new Float64Array(channels);
    this.meanLo = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  reset(): void {
    this.count.fill(0);
    this.meanHi.fill(0);
    this.meanLo.fill(0);
    this.m2.fill(0);
  }

  mean(c: number): number {
    return this.meanHi[c]! + this.meanLo[c]!;
  }

  /** The low part of the mean (mean(c) rounds it away): centring with it keeps digits far from zero. */
  meanLow(c: number): number {
    return this.meanLo[c]! - (this.mean(c) - this.meanHi[c]!);
  }

  /**
   * Adds `steps` values of channel `c`: values[offset + k * stride] for k in [0, steps).
   * NaN propagates (torch's behaviour) unless `skipNaN`, which leaves missing values out.
   */
  add(c: number, values: Values, offset: number, steps: number, stride: number, skipNaN = false): void {
    if (steps <= 0) return;
    const end = offset + steps * stride;
    let n = 0;
    let rough: number;
    // Second pass around the rough mean; `drift` corrects the mean and M2 for its rounding.
    let drift = 0;
    let sq = 0;
    if (skipNaN) {
      let sum = 0;
      for (let i = offset; i < end; i += stride) {
        const x = values[i]!;
        if (x === x) { sum += x; n++; }
      }
      if (n === 0) return;
      rough = sum / n;
      for (let i = offset; i < end; i += stride) {
        const x = values[i]!;
        if (x === x) { const d = x - rough; drift += d; sq += d * d; }
      }
    } else if (stride === 1 && kernelReady(values)) {
      n = steps;
      rough = sumF32(values, offset, n) / n;
      [drift, sq] = deviationsF32(values, offset, n, rough);
    } else {
      // Four accumulators in the order of the SIMD kernels (same bits either way); independent
      // add chains also run faster than one.
      n = steps;
      const quad = 4 * stride;
      const last = end - 3 * stride;
      let a0 = 0, a1 = 0, b0 = 0, b1 = 0;
      let i = offset;
      for (; i < last; i += quad) { a0 += values[i]!; a1 += values[i + stride]!; b0 += values[i + 2 * stride]!; b1 += values[i + 3 * stride]!; }
      let sum = a0 + b0 + (a1 + b1);
      for (let j = i; j < end; j += stride) sum += values[j]!;
      rough = sum / n;
      let d0 = 0, d1 = 0, d2 = 0, d3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
      for (i = offset; i < last; i += quad) {
        const e0 = values[i]! - rough;
        const e1 = values[i + stride]! - rough;
        const e2 = values[i + 2 * stride]! - rough;
        const e3 = values[i + 3 * stride]! - rough;
        d0 += e0; d1 += e1; d2 += e2; d3 += e3;
        q0 += e0 * e0; q1 += e1 * e1; q2 += e2 * e2; q3 += e3 * e3;
      }
      drift = d0 + d2 + (d1 + d3);
      sq = q0 + q2 + (q1 + q3);
      for (let j = i; j < end; j += stride) { const e = values[j]! - rough; drift += e; sq += e * e; }
    }
    // The chunk's mean as rough + drift / n: two parts, so its rounding is not lost.
    let mean = rough;
    let meanLow = drift / n;
    let m2 = sq - (drift * drift) / n;
    if (m2 < 0) m2 = 0;
    // A constant chunk has exactly its value as mean and zero spread.
    if (sq <= n * 1e-28 * rough * rough && isConstant(values, offset, end, stride, skipNaN)) {
      mean = firstValue(values, offset, end, stride);
      meanLow = 0;
      m2 = 0;
    }
    this.merge(c, n, mean, m2, meanLow);
  }

  /** Chan et al.: combine the moments of channel c with those of another piece (mean = mean + meanLow). */
  merge(c: number, n: number, mean: number, m2: number, meanLow = 0): void {
    const na = this.count[c]!;
    if (n === 0) return;
    if (na === 0) {
      const s = mean + meanLow;
      this.count[c] = n;
      this.meanHi[c] = s;
      this.meanLo[c] = meanLow - (s - mean);
      this.m2[c] = m2;
      return;
    }
    const total = na + n;
    const hi = this.meanHi[c]!;
    const lo = this.meanLo[c]!;
    const delta = mean - hi + (meanLow - lo);
    const step = (delta * n) / total;
    // TwoSum: hi + step exactly as sum + err, the err kept in lo.
    const sum = hi + step;
    const back = sum - hi;
    const err = hi - (sum - back) + (step - back);
    this.count[c] = total;
    this.meanHi[c] = sum;
    this.meanLo[c] = lo + err;
    this.m2[c] = this.m2[c]! + m2 + (delta * delta * na * n) / total;
  }

  /** Biased variance (divide by the count), what normalization uses. */
  variance(c: number): number {
    return this.m2[c]! / this.count[c]!;
  }

  /** Unbiased variance (divide by count - 1), what the running-variance update uses. */
  unbiasedVariance(c: number): number {
    return this.m2[c]! / (this.count[c]! - 1);
  }
}

function isConstant(values: Values, offset: number, end: number, stride: number, skipNaN: boolean): boolean {
  const first = firstValue(values, offset, end, stride);
  for (let i = offset; i < end; i += stride) {
    const x = values[i]!;
    if (x !== first && !(skipNaN && x !== x)) return false;
  }
  return true;
}

function firstValue(values: Values, offset: number, end: number, stride: number): number {
  for (let i = offset; i < end; i += stride) if (values[i] === values[i]) return values[i]!;
  return NaN;
}
