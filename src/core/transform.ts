import type { Values } from './block.js';
import { kernelReady, transformF32 } from './kernels/kernels.js';

/**
 * The per-channel affine map InstanceNorm1d applies: y = (x - center) * scale + shift, with
 * scale = weight / sqrt(var + eps) and shift = bias. The centre is kept apart from the shift
 * (not folded into one x * a + b) so that data far from zero loses no digits.
 *
 * A variance beyond float64 (values above about 1.3e154) comes as a variance in units of 2^(2E):
 * inputs are then scaled by 2^-E (exactly) before centring, the centre with them, and the scale is
 * weight / sqrt(var * 2^-2E + eps * 2^-2E), so neither the variance nor x - mean overflows.
 */
export class ChannelTransform {
  readonly center: Float64Array;
  /** What the centre's double leaves out (its rounding error): subtracted after it. */
  readonly centerLow: Float64Array;
  readonly scale: Float64Array;
  readonly shift: Float64Array;
  /** 2^-E, what inputs are multiplied by before centring: 1 but for variances beyond float64 (center, centerLow and scale then in those units). */
  readonly inputScale: Float64Array;

  constructor(readonly channels: number) {
    this.center = new Float64Array(channels);
    this.centerLow = new Float64Array(channels);
    this.scale = new Float64Array(channels).fill(1);
    this.shift = new Float64Array(channels);
    this.inputScale = new Float64Array(channels).fill(1);
  }

  /**
   * Sets channel c to the inverse map: x = (y - bias) * sqrt(var + eps) / weight + mean, the same
   * form with the roles swapped (centre bias, scale sqrt(var + eps) / weight, shift mean).
   */
  setInverse(c: number, mean: number, variance: number, eps: number, affine?: Affine): void {
    const w = affine ? affine.weight[c]! : 1;
    this.inputScale[c] = 1;
    this.center[c] = affine ? affine.bias[c]! : 0;
    this.centerLow[c] = 0;
    this.scale[c] = Math.sqrt(variance + eps) / w;
    this.shift[c] = mean;
  }

  /**
   * Sets channel c from a mean (mean + meanLow) and a (biased) variance, given in units of
   * 2^(2 * exponent) (ChannelMoments.scaledVariance and scaleExponent).
   */
  set(c: number, mean: number, variance: number, eps: number, affine?: Affine, meanLow = 0, exponent = 0): void {
    const w = affine ? affine.weight[c]! : 1;
    this.shift[c] = affine ? affine.bias[c]! : 0;
    // A zero (or NaN) variance is the same in any units: nothing to scale.
    if (exponent === 0 || !(variance > 0)) {
      this.inputScale[c] = 1;
      this.center[c] = mean;
      this.centerLow[c] = meanLow;
      this.scale[c] = w / Math.sqrt(variance + eps);
      return;
    }
    const down = 2 ** -exponent;
    this.inputScale[c] = down;
    this.center[c] = mean * down;
    this.centerLow[c] = meanLow * down;
    this.scale[c] = w / Math.sqrt(variance + eps * down * down);
  }

  /**
   * dst[dstOffset + k * dstStride] = y(src[srcOffset + k * srcStride]) for k in [0, steps), computed
   * in float64; a Float32Array destination rounds each result once, on store.
   */
  apply(c: number, src: Values, srcOffset: number, srcStride: number, steps: number, dst: Values, dstOffset: number, dstStride: number): void {
    const m = this.center[c]!;
    const lo = this.centerLow[c]!;
    const s = this.scale[c]!;
    const b = this.shift[c]!;
    const inputScale = this.inputScale[c]!;
    if (inputScale !== 1) {
      for (let k = 0, i = srcOffset, j = dstOffset; k < steps; k++, i += srcStride, j += dstStride) {
        dst[j] = (src[i]! * inputScale - m - lo) * s + b;
      }
      return;
    }
    if (srcStride === 1 && dstStride === 1 && kernelReady(src) && kernelReady(dst)) {
      transformF32(src, srcOffset, steps, dst, dstOffset, m, lo, s, b);
      return;
    }
    if (srcStride === 1 && dstStride === 1) {
      const delta = dstOffset - srcOffset;
      const end = srcOffset + steps;
      for (let i = srcOffset; i < end; i++) dst[i + delta] = (src[i]! - m - lo) * s + b;
      return;
    }
    for (let k = 0, i = srcOffset, j = dstOffset; k < steps; k++, i += srcStride, j += dstStride) {
      dst[j] = (src[i]! - m - lo) * s + b;
    }
  }
}

/** Per-channel weight and bias (torch's affine=True parameters). */
export interface Affine {
  readonly weight: Float64Array;
  readonly bias: Float64Array;
}
