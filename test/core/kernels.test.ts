import { describe, expect, it } from 'vitest';
import { allocateValues, countNaN, kernelReady, releaseValues } from '../../src/core/kernels/kernels.js';
import { SIMD_WASM_BASE64 } from '../../src/core/kernels/simd-wasm.js';
import { ChannelMoments } from '../../src/core/moments.js';
import { ChannelTransform } from '../../src/core/transform.js';
// @ts-expect-error: a plain .mjs build script without type declarations
import { compileSimd } from '../../scripts/build-kernels.mjs';

function fill(a: Float32Array, seed: number): void {
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = 1e4 + (s / 2 ** 32 - 0.5) * 7;
  }
}

describe('SIMD kernels', () => {
  it('are the compiled simd.wat (regenerate with npm run kernels)', async () => {
    expect(await compileSimd()).toBe(SIMD_WASM_BASE64);
  });

  it('hand out arrays in their memory, and reuse what is released', () => {
    const a = allocateValues('float32', 1000);
    expect(kernelReady(a)).toBe(true);
    expect(kernelReady(new Float32Array(1000))).toBe(false);
    releaseValues(a);
    const b = allocateValues('float32', 1000);
    expect(b.byteOffset).toBe(a.byteOffset);
    // Growing the memory keeps older arrays usable and recognized.
    const big = allocateValues('float32', 5_000_000);
    expect(kernelReady(b)).toBe(true);
    releaseValues(big);
    releaseValues(b);
  });

  it.each([1, 3, 4, 7, 1001, 65536])('give the same bits as the JavaScript loops (n = %i)', (n) => {
    const inKernel = allocateValues('float32', n) as Float32Array;
    fill(inKernel, n);
    const plain = Float32Array.from(inKernel);
    const mk = new ChannelMoments(1);
    const mj = new ChannelMoments(1);
    mk.add(0, inKernel, 0, n, 1);
    mj.add(0, plain, 0, n, 1);
    expect(mk.mean(0)).toBe(mj.mean(0));
    expect(mk.m2[0]).toBe(mj.m2[0]);
    const t = new ChannelTransform(1);
    t.set(0, mk.mean(0), mk.variance(0), 1e-5, { weight: Float64Array.of(1.5), bias: Float64Array.of(-0.25) }, mk.meanLow(0));
    const outK = allocateValues('float32', n) as Float32Array;
    const outJ = new Float32Array(n);
    t.apply(0, inKernel, 0, 1, n, outK, 0, 1);
    t.apply(0, plain, 0, 1, n, outJ, 0, 1);
    expect(Array.from(outK)).toEqual(Array.from(outJ));
    releaseValues(inKernel);
    releaseValues(outK);
  });

  it.each(['float32', 'float64'] as const)('count the NaNs of %s arrays as a loop does, at every length and offset', (kind) => {
    // NaNs of several bit patterns (quiet, signalling, negative) among numbers, infinities and -0.
    const specials =
      kind === 'float64'
        ? [NaN, new Float64Array(new BigUint64Array([0x7ff0000000000001n]).buffer)[0]!, new Float64Array(new BigUint64Array([0xfff8000000000000n]).buffer)[0]!]
        : [NaN, new Float32Array(new Uint32Array([0x7f800001]).buffer)[0]!, new Float32Array(new Uint32Array([0xffc00000]).buffer)[0]!];
    const others = [0, -0, 1.5, Infinity, -Infinity, 3e38];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (let n = 0; n <= 40; n++) {
      for (const start of [0, 1, 2, 3]) {
        const a = allocateValues(kind, start + n);
        const v = a.subarray(start, start + n) as Float32Array | Float64Array;
        let expected = 0;
        for (let i = 0; i < n; i++) {
          const nan = next() % 3 === 0;
          v[i] = nan ? specials[next() % specials.length]! : others[next() % others.length]!;
          if (nan) expected++;
        }
        // In the kernels' (shared) memory, so that the kernel counts; an empty allocation is an ordinary array.
        if (start + n > 0) expect(v.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(countNaN(v), `n ${n}, start ${start}`).toBe(expected);
        const plain = kind === 'float64' ? Float64Array.from(v) : Float32Array.from(v);
        expect(countNaN(plain)).toBe(expected);
        releaseValues(a);
      }
    }
    // Long arrays: the vector loop and its tail.
    const long = allocateValues(kind, 100_003);
    expect(long.buffer).toBeInstanceOf(SharedArrayBuffer);
    long.fill(1);
    for (let i = 0; i < long.length; i += 97) long[i] = NaN;
    expect(countNaN(long)).toBe(Math.ceil(100_003 / 97));
    releaseValues(long);
  });
});
