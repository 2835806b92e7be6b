import type { Values } from './block.js';
import { deviationsF32, kernelReady, sumF32 } from './kernels/kernels.js';

/**
 * Per-channel float64 moments (count, mean, sum of squared deviations) of one instance,
 * fed in chunks. Each chunk is reduced with the corrected two-pass algorithm, then merged
 * with Chan's parallel formula, so a series can arrive in any number of pieces and the
 * result does not depend on where they were cut (up to rounding).
 *
 * Values beyond about 1.3e154 overflow their squares (and near 1e308 their sums): a chunk or merge
 * whose result overflows although its inputs are finite is redone on values scaled by 2^-E, which
 * is exact, and the channel keeps its M2 scaled, as m2[c] * 2^(2 * scaleExponent[c]). Ordinary data
 * never takes that branch (scaleExponent stays 0) and gives the same bits as without it.
 */
export class ChannelMoments {
  readonly count: Float64Array;
  /** The mean as an unevaluated sum hi + lo: merging many small pieces then loses no digits. */
  private readonly meanHi: Float64Array;
  private readonly meanLo: Float64Array;
  /** M2 in units of 2^(2 * scaleExponent[c]): the sum of squared deviations itself may exceed float64. */
  readonly m2: Float64Array;
  /** E of each channel's M2 scale, 0 unless its data overflowed float64 squares or sums. */
  readonly scaleExponent: Int32Array;
  /** The last chunk's reduction (see reduce): fields rather than a returned object, no allocation per chunk. */
  private chunkCount = 0;
  private chunkMean = 0;
  private chunkMeanLow = 0;
  private chunkM2 = 0;
  /** The rare rescaled chunk's values, reused. */
  private scratch = new Float64Array(0);

  constructor(readonly channels: number) {
    this.count = new Float64Array(channels);
    this.meanHi = new Float64Array(channels);
    this.meanLo = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
    this.scaleExponent = new Int32Array(channels);
  }

  reset(): void {
    this.count.fill(0);
    this.meanHi.fill(0);
    this.meanLo.fill(0);
    this.m2.fill(0);
    this.scaleExponent.fill(0);
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
    if (steps <= 0 || !this.reduce(values, offset, steps, stride, skipNaN)) return;
    let exponent = 0;
    const m2 = this.chunkM2;
    // Non-finite: an infinity or NaN in the data (kept as it is), or finite values that overflowed.
    if (!(m2 - m2 === 0)) exponent = this.reduceRescaled(values, offset, steps, stride, skipNaN);
    this.merge(c, this.chunkCount, this.chunkMean, this.chunkM2, this.chunkMeanLow, exponent);
  }

  /**
   * Reduces one chunk with the corrected two-pass algorithm into chunkCount, chunkMean (+
   * chunkMeanLow) and chunkM2; false when it has no values. A non-finite M2 is left as it came out.
   */
  private reduce(values: Values, offset: number, steps: number, stride: number, skipNaN: boolean): boolean {
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
        if (x === x) {
          sum += x;
          n++;
        }
      }
      if (n === 0) return false;
      rough = sum / n;
      for (let i = offset; i < end; i += stride) {
        const x = values[i]!;
        if (x === x) {
          const d = x - rough;
          drift += d;
          sq += d * d;
        }
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
      let a0 = 0,
        a1 = 0,
        b0 = 0,
        b1 = 0;
      let i = offset;
      for (; i < last; i += quad) {
        a0 += values[i]!;
        a1 += values[i + stride]!;
        b0 += values[i + 2 * stride]!;
        b1 += values[i + 3 * stride]!;
      }
      let sum = a0 + b0 + (a1 + b1);
      for (let j = i; j < end; j += stride) sum += values[j]!;
      rough = sum / n;
      let d0 = 0,
        d1 = 0,
        d2 = 0,
        d3 = 0,
        q0 = 0,
        q1 = 0,
        q2 = 0,
        q3 = 0;
      for (i = offset; i < last; i += quad) {
        const e0 = values[i]! - rough;
        const e1 = values[i + stride]! - rough;
        const e2 = values[i + 2 * stride]! - rough;
        const e3 = values[i + 3 * stride]! - rough;
        d0 += e0;
        d1 += e1;
        d2 += e2;
        d3 += e3;
        q0 += e0 * e0;
        q1 += e1 * e1;
        q2 += e2 * e2;
        q3 += e3 * e3;
      }
      drift = d0 + d2 + (d1 + d3);
      sq = q0 + q2 + (q1 + q3);
      for (let j = i; j < end; j += stride) {
        const e = values[j]! - rough;
        drift += e;
        sq += e * e;
      }
    }
    // The chunk's mean as rough + drift / n: two parts, so its rounding is not lost.
    let mean = rough;
    let meanLow = drift / n;
    let m2 = sq - (drift * drift) / n;
    this.chunkCount = n;
    if (m2 - m2 === 0) {
      if (m2 < 0) m2 = 0;
      // A constant chunk has exactly its value as mean and zero spread.
      if (sq <= n * 1e-28 * rough * rough && isConstant(values, offset, end, stride, skipNaN)) {
        mean = firstValue(values, offset, end, stride);
        meanLow = 0;
        m2 = 0;
      }
    }
    this.chunkMean = mean;
    this.chunkMeanLow = meanLow;
    this.chunkM2 = m2;
    return true;
  }

  /**
   * The rare branch of `add`: when the chunk's values are all finite (missing ones aside), reduces
   * them again times 2^-E and returns E, with the chunk's mean back in true units and its M2 in
   * units of 2^(2E). Otherwise (an infinity or NaN in the data) keeps the result as it is: 0.
   */
  private reduceRescaled(values: Values, offset: number, steps: number, stride: number, skipNaN: boolean): number {
    const largest = largestMagnitude(values, offset, offset + steps * stride, stride, skipNaN);
    if (!(largest < Infinity)) return 0;
    const exponent = scaleExponentFor(largest);
    const down = 2 ** -exponent;
    if (this.scratch.length < steps) this.scratch = new Float64Array(steps);
    const scaled = this.scratch;
    for (let k = 0, i = offset; k < steps; k++, i += stride) scaled[k] = values[i]! * down;
    // Same loop, same order as the values themselves would take (float64, so never the kernels).
    this.reduce(scaled, 0, steps, 1, skipNaN);
    const up = 2 ** exponent;
    this.chunkMean *= up;
    this.chunkMeanLow *= up;
    return exponent;
  }

  /**
   * Chan et al.: combine the moments of channel c with those of another piece: n values, mean
   * mean + meanLow, M2 m2 * 2^(2 * exponent).
   */
  merge(c: number, n: number, mean: number, m2: number, meanLow = 0, exponent = 0): void {
    const na = this.count[c]!;
    if (n === 0) return;
    if (na === 0) {
      const s = mean + meanLow;
      this.count[c] = n;
      this.meanHi[c] = s;
      this.meanLo[c] = meanLow - (s - mean);
      this.m2[c] = m2;
      this.scaleExponent[c] = exponent;
      return;
    }
    if (exponent !== 0 || this.scaleExponent[c] !== 0) {
      this.mergeRescaled(c, n, mean, m2, meanLow, exponent);
      return;
    }
    const total = na + n;
    const hi = this.meanHi[c]!;
    const lo = this.meanLo[c]!;
    const m2a = this.m2[c]!;
    const delta = mean - hi + (meanLow - lo);
    const merged = m2a + m2 + (delta * delta * na * n) / total;
    // Finite moments whose merge overflows (not an infinity or NaN of the data): redo it scaled.
    if (!(merged - merged === 0) && allFinite(hi, lo, m2a, mean, meanLow, m2)) {
      this.mergeRescaled(c, n, mean, m2, meanLow, 0);
      return;
    }
    const step = (delta * n) / total;
    // TwoSum: hi + step exactly as sum + err, the err kept in lo.
    const sum = hi + step;
    const back = sum - hi;
    const err = hi - (sum - back) + (step - back);
    this.count[c] = total;
    this.meanHi[c] = sum;
    this.meanLo[c] = lo + err;
    this.m2[c] = merged;
  }

  /**
   * `merge` on means scaled by 2^-E and M2s by 2^-2E, E large enough that nothing overflows: the
   * same operations on exactly scaled values, so the same digits. The channel keeps M2 in units of 2^(2E).
   */
  private mergeRescaled(c: number, n: number, mean: number, m2: number, meanLow: number, exponent: number): void {
    const na = this.count[c]!;
    const hi = this.meanHi[c]!;
    const lo = this.meanLo[c]!;
    const m2a = this.m2[c]!;
    const ea = this.scaleExponent[c]!;
    const e = Math.min(
      MAX_EXPONENT,
      Math.max(ea, exponent, scaleExponentFor(Math.max(Math.abs(hi), Math.abs(mean))), ea + halfExponent(m2a), exponent + halfExponent(m2)),
    );
    const down = 2 ** -e;
    const hiS = hi * down;
    const loS = lo * down;
    const total = na + n;
    const delta = mean * down - hiS + (meanLow * down - loS);
    const step = (delta * n) / total;
    const sum = hiS + step;
    const back = sum - hiS;
    const err = hiS - (sum - back) + (step - back);
    const up = 2 ** e;
    this.count[c] = total;
    this.meanHi[c] = sum * up;
    this.meanLo[c] = (loS + err) * up;
    this.m2[c] = timesPowerOfFour(m2a, ea - e) + timesPowerOfFour(m2, exponent - e) + (delta * delta * na * n) / total;
    this.scaleExponent[c] = e;
  }

  /** Biased variance (divide by the count), what normalization uses; Infinity beyond float64. */
  variance(c: number): number {
    return this.unscale(this.scaledVariance(c), c);
  }

  /**
   * The biased standard deviation: finite wherever it fits float64, also when the variance does
   * not (values 1e200 apart have a std of 1e200 and a variance of 1e400).
   */
  std(c: number): number {
    const e = this.scaleExponent[c]!;
    const s = Math.sqrt(this.scaledVariance(c));
    return e === 0 ? s : s * 2 ** e;
  }

  /** The biased variance in units of 2^(2 * scaleExponent[c]): finite where the variance itself is not. */
  scaledVariance(c: number): number {
    return this.m2[c]! / this.count[c]!;
  }

  /** Unbiased variance (divide by count - 1), what the running-variance update uses; Infinity beyond float64. */
  unbiasedVariance(c: number): number {
    return this.unscale(this.m2[c]! / (this.count[c]! - 1), c);
  }

  private unscale(v: number, c: number): number {
    const e = this.scaleExponent[c]!;
    return e === 0 ? v : v * 2 ** e * 2 ** e;
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

/** The largest scale exponent: 2^E and 2^-E stay representable (2^-1023 as a subnormal, exactly). */
const MAX_EXPONENT = 1023;

/** E in [0, 1023] with magnitude * 2^-E of order 1 (floor(log2), off by one near powers of two: harmless). */
function scaleExponentFor(magnitude: number): number {
  return magnitude > 0 ? Math.min(MAX_EXPONENT, Math.max(0, Math.floor(Math.log2(magnitude)))) : 0;
}

/** About half the binary exponent of a positive m2 (that of its square root); 0 for zero or NaN. */
function halfExponent(m2: number): number {
  return m2 > 0 ? Math.ceil(Math.log2(m2) / 2) : 0;
}

/** m2 * 4^d for d in [-1023, 0], in two exact steps (4^d alone would underflow). */
function timesPowerOfFour(m2: number, d: number): number {
  return d === 0 ? m2 : m2 * 2 ** d * 2 ** d;
}

/** Largest |x| over the values (NaN skipped when skipNaN); not below Infinity when any is infinite or a kept NaN. */
function largestMagnitude(values: Values, offset: number, end: number, stride: number, skipNaN: boolean): number {
  let largest = 0;
  for (let i = offset; i < end; i += stride) {
    const x = values[i]!;
    if (x !== x) {
      if (skipNaN) continue;
      return NaN;
    }
    const a = Math.abs(x);
    if (a > largest) largest = a;
  }
  return largest;
}

function allFinite(...xs: number[]): boolean {
  return xs.every(Number.isFinite);
}
