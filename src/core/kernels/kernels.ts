import type { Values } from '../block.js';
import { SIMD_WASM_BASE64 } from './simd-wasm.js';

/**
 * WebAssembly SIMD kernels for float32 data (simd.wat), several times faster than the JavaScript
 * loops. They work on arrays that live in the kernels' memory: the NPY reader and the pipeline
 * allocate their buffers with `allocateValues`, so nothing is copied. Anything else (arrays a
 * library user passes, float64 data, CSV) takes the JavaScript path, as does everything where
 * WebAssembly SIMD is missing. The memory is shared, so growing it never detaches a view.
 */
interface KernelExports {
  sum_f32(p: number, n: number): number;
  deviations_f32(p: number, n: number, m: number, out: number): void;
  transform_f32(src: number, dst: number, n: number, m: number, lo: number, s: number, b: number): void;
  count_nan_f64(p: number, n: number): number;
  count_nan_f32(p: number, n: number): number;
}

const PAGE = 65536;
/** Bytes at the start of memory for results (the deviations' two float64). */
const RESULT_BYTES = 64;

let kernels: { exports: KernelExports; memory: WebAssembly.Memory; used: number } | null | undefined;
/** Freed blocks by size, for reuse: readers come and go (one per input file). */
const freeLists = new Map<number, number[]>();
/** Every buffer object the memory has had: growing a shared memory gives a new object for the same bytes. */
const memoryBuffers = new WeakSet<ArrayBufferLike>();

function currentBuffer(memory: WebAssembly.Memory): ArrayBufferLike {
  const b = memory.buffer;
  memoryBuffers.add(b);
  return b;
}

function load(): typeof kernels {
  if (kernels !== undefined) return kernels;
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const module = new WebAssembly.Module(Buffer.from(SIMD_WASM_BASE64, 'base64'));
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    kernels = { exports: instance.exports as unknown as KernelExports, memory, used: RESULT_BYTES };
  } catch {
    kernels = null;
  }
  return kernels;
}

/**
 * A float32 or float64 array of `count` values in the kernels' memory when it can be (else an
 * ordinary one). Give it back with `releaseValues` when done.
 */
export function allocateValues(kind: 'float32' | 'float64', count: number): Values {
  const k = load();
  const size = kind === 'float32' ? 4 : 8;
  const bytes = Math.ceil((count * size) / 64) * 64;
  if (!k || bytes === 0) return kind === 'float32' ? new Float32Array(count) : new Float64Array(count);
  let at = freeLists.get(bytes)?.pop();
  if (at === undefined) {
    at = k.used;
    k.used += bytes;
    const have = k.memory.buffer.byteLength;
    if (k.used > have) k.memory.grow(Math.ceil((k.used - have) / PAGE));
  }
  const buffer = currentBuffer(k.memory);
  return kind === 'float32' ? new Float32Array(buffer, at, count) : new Float64Array(buffer, at, count);
}

/** Raw bytes in the kernels' memory (a file is read straight into them), 8-byte aligned. */
export function allocateBytes(count: number): Uint8Array {
  const v = allocateValues('float64', Math.ceil(count / 8));
  return new Uint8Array(v.buffer, v.byteOffset, count);
}

export function releaseValues(v: ArrayBufferView): void {
  if (!inKernelMemory(v)) return;
  const bytes = Math.ceil(v.byteLength / 64) * 64;
  if (bytes === 0) return;
  const list = freeLists.get(bytes) ?? [];
  list.push(v.byteOffset);
  freeLists.set(bytes, list);
}

function inKernelMemory(v: ArrayBufferView): boolean {
  return memoryBuffers.has(v.buffer);
}

/** Whether float32 values can go through the kernels. */
export function kernelReady(v: Values): v is Float32Array {
  return v instanceof Float32Array && inKernelMemory(v);
}

/** Sum of v[offset, offset + n), a float32 array in kernel memory, in float64. */
export function sumF32(v: Float32Array, offset: number, n: number): number {
  return kernels!.exports.sum_f32(v.byteOffset + offset * 4, n);
}

/** [sum(x - m), sum((x - m)^2)] over v[offset, offset + n). */
export function deviationsF32(v: Float32Array, offset: number, n: number, m: number): [number, number] {
  const k = kernels!;
  k.exports.deviations_f32(v.byteOffset + offset * 4, n, m, 0);
  const out = new Float64Array(currentBuffer(k.memory), 0, 2);
  return [out[0]!, out[1]!];
}

/** dst[dstOffset + i] = float32(((src[srcOffset + i] - m) - lo) * s + b) for i in [0, n). */
export function transformF32(
  src: Float32Array,
  srcOffset: number,
  n: number,
  dst: Float32Array,
  dstOffset: number,
  m: number,
  lo: number,
  s: number,
  b: number,
): void {
  kernels!.exports.transform_f32(src.byteOffset + srcOffset * 4, dst.byteOffset + dstOffset * 4, n, m, lo, s, b);
}

/** How many of v's values are NaN: in the kernels where v lives in their memory (~4x faster), else in JavaScript. */
export function countNaN(v: Float32Array | Float64Array): number {
  if (inKernelMemory(v)) {
    const k = kernels!.exports;
    return v instanceof Float64Array ? k.count_nan_f64(v.byteOffset, v.length) : k.count_nan_f32(v.byteOffset, v.length);
  }
  // One loop per array type: a loop that sees both is several times slower.
  return v instanceof Float64Array ? countNaN64(v) : countNaN32(v);
}

function countNaN64(values: Float64Array): number {
  let nulls = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== values[i]) nulls++;
  return nulls;
}

function countNaN32(values: Float32Array): number {
  let nulls = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== values[i]) nulls++;
  return nulls;
}
