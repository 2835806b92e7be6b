import type { Values } from '../../core/block.js';
import type { ElementType } from '../types.js';
import { NpyHeaderError } from './header.js';

/** A numeric NPY element type. */
export interface NpyDtype {
  readonly descr: string;
  readonly kind: 'f' | 'i' | 'u' | 'b';
  readonly size: 1 | 2 | 4 | 8;
  readonly littleEndian: boolean;
  /** The same type as the schema names it. */
  readonly type: ElementType;
}

const TYPES: Record<string, ElementType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
};

const UNSUPPORTED: Record<string, string> = {
  c: 'complex numbers',
  O: 'Python objects',
  U: 'unicode strings',
  S: 'byte strings',
  a: 'byte strings',
  V: 'raw bytes (void)',
  M: 'datetimes',
  m: 'timedeltas',
};

const nativeLittle = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export function parseDtype(descr: string): NpyDtype {
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  const order = m?.[1] ?? '';
  const kind = m?.[2] ?? '';
  const size = Number(m?.[3] ?? '');
  if (m && UNSUPPORTED[kind]) {
    throw new NpyHeaderError(`unsupported dtype '${descr}' (${UNSUPPORTED[kind]}): expected float16/32/64 or an integer type`);
  }
  const ok =
    (kind === 'f' && (size === 2 || size === 4 || size === 8)) ||
    ((kind === 'i' || kind === 'u') && (size === 1 || size === 2 || size === 4 || size === 8)) ||
    (kind === 'b' && size === 1);
  if (!ok) throw new NpyHeaderError(`unsupported dtype '${descr}': expected float16/32/64 or an integer type`);
  const littleEndian = order === '<' || (order !== '>' && nativeLittle) || size === 1;
  return { descr, kind: kind as NpyDtype['kind'], size: size as NpyDtype['size'], littleEndian, type: TYPES[kind + size]! };
}

/**
 * The values of `count` elements of raw bytes: float32 and float64 as views of `raw` itself (no
 * copy), other types decoded into `scratch`. `raw` must be 8-byte aligned; big-endian data is
 * byte-swapped in place.
 */
export function decodeValues(dtype: NpyDtype, raw: Uint8Array, count: number, scratch: () => Float64Array): Values {
  swapToNative(dtype, raw, count);
  if (dtype.kind === 'f' && dtype.size === 4) return new Float32Array(raw.buffer, raw.byteOffset, count);
  if (dtype.kind === 'f' && dtype.size === 8) return new Float64Array(raw.buffer, raw.byteOffset, count);
  const out = scratch();
  decodeNative(dtype, raw, count, out, 0);
  return out.subarray(0, count);
}

function swapToNative(dtype: NpyDtype, raw: Uint8Array, count: number): void {
  if (dtype.littleEndian || dtype.size === 1) return;
  const b = Buffer.from(raw.buffer, raw.byteOffset, count * dtype.size);
  if (dtype.size === 2) b.swap16();
  else if (dtype.size === 4) b.swap32();
  else b.swap64();
}

function decodeNative(dtype: NpyDtype, raw: Uint8Array, count: number, out: Float64Array, outOffset: number): void {
  const { buffer, byteOffset } = raw;
  const dst = out.subarray(outOffset, outOffset + count);
  switch (dtype.kind + dtype.size) {
    case 'f8':
      dst.set(new Float64Array(buffer, byteOffset, count));
      return;
    case 'f4':
      dst.set(new Float32Array(buffer, byteOffset, count));
      return;
    case 'f2':
      decodeHalf(new Uint16Array(buffer, byteOffset, count), dst);
      return;
    case 'i1':
      dst.set(new Int8Array(buffer, byteOffset, count));
      return;
    case 'i2':
      dst.set(new Int16Array(buffer, byteOffset, count));
      return;
    case 'i4':
      dst.set(new Int32Array(buffer, byteOffset, count));
      return;
    case 'u1':
      dst.set(new Uint8Array(buffer, byteOffset, count));
      return;
    // numpy reads any nonzero byte of a bool array as True.
    case 'b1': {
      const a = new Uint8Array(buffer, byteOffset, count);
      for (let i = 0; i < count; i++) dst[i] = a[i] === 0 ? 0 : 1;
      return;
    }
    case 'u2':
      dst.set(new Uint16Array(buffer, byteOffset, count));
      return;
    case 'u4':
      dst.set(new Uint32Array(buffer, byteOffset, count));
      return;
    case 'i8': {
      const a = new BigInt64Array(buffer, byteOffset, count);
      for (let i = 0; i < count; i++) dst[i] = Number(a[i]!);
      return;
    }
    case 'u8': {
      const a = new BigUint64Array(buffer, byteOffset, count);
      for (let i = 0; i < count; i++) dst[i] = Number(a[i]!);
      return;
    }
  }
}

let halfTable: Float64Array | undefined;

function decodeHalf(src: Uint16Array, dst: Float64Array): void {
  if (!halfTable) {
    halfTable = new Float64Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      halfTable[h] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
    }
  }
  for (let i = 0; i < src.length; i++) dst[i] = halfTable[src[i]!]!;
}

/** The element types NPY output is written as: floats, or (keeping an integer input's type) integers. */
export type OutputDescr = '<f4' | '<f8' | '|i1' | '<i2' | '<i4' | '<i8' | '|u1' | '<u2' | '<u4' | '<u8' | '|b1';

const OUTPUT_DESCR: Partial<Record<ElementType, OutputDescr>> = {
  float16: '<f4',
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  uint64: '<u8',
  bool: '|b1',
};

/** The NPY type that holds every value of `type` (float16 as float32); float64 for anything else. */
export function outputDescr(type: ElementType): OutputDescr {
  return OUTPUT_DESCR[type] ?? '<f8';
}

/**
 * Encodes values[start, start + count) as little-endian `descr` into `out` (floats rounding once;
 * integers are exact, as readers refuse what float64 would round). Returns -1, or the index in
 * the run of a missing value (NaN), which integers cannot hold.
 */
export function encode(values: Values, start: number, count: number, descr: OutputDescr, out: Uint8Array, outOffset: number): number {
  const src = values.subarray(start, start + count);
  const at = out.byteOffset + outOffset;
  if (descr === '<f4') {
    new Float32Array(out.buffer, at, count).set(src);
    return -1;
  }
  if (descr === '<f8') {
    new Float64Array(out.buffer, at, count).set(src);
    return -1;
  }
  for (let i = 0; i < count; i++) if (src[i] !== src[i]) return i;
  switch (descr) {
    case '<i8': {
      const a = new BigInt64Array(out.buffer, at, count);
      for (let i = 0; i < count; i++) a[i] = BigInt(src[i]!);
      return -1;
    }
    case '<u8': {
      const a = new BigUint64Array(out.buffer, at, count);
      for (let i = 0; i < count; i++) a[i] = BigInt(src[i]!);
      return -1;
    }
    case '|i1':
      new Int8Array(out.buffer, at, count).set(src);
      return -1;
    case '<i2':
      new Int16Array(out.buffer, at, count).set(src);
      return -1;
    case '<i4':
      new Int32Array(out.buffer, at, count).set(src);
      return -1;
    case '|u1':
    case '|b1':
      new Uint8Array(out.buffer, at, count).set(src);
      return -1;
    case '<u2':
      new Uint16Array(out.buffer, at, count).set(src);
      return -1;
    case '<u4':
      new Uint32Array(out.buffer, at, count).set(src);
      return -1;
  }
}
