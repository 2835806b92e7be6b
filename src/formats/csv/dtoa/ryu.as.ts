// AssemblyScript, compiled to WebAssembly by scripts/build-kernels.mjs (npm run kernels) into
// ryu-wasm.ts. Writes a float64 as JavaScript's String(x) does -- the shortest decimal that reads
// back as the same double, the closest one if several, ties to even (ECMA-262 Number::toString) --
// but as ASCII bytes into memory, about 5x faster than String(x) and without a string per number.
//
// The digits come from Ryu (Ulf Adams, PLDI 2018, github.com/ulfjack/ryu d2s.c, Apache-2.0 /
// BSL-1.0), transcribed with 64-bit halves for its 128-bit products; the tables are generated.
// test/formats/dtoa.test.ts checks the output against String(x) on millions of values.

import { POW5_INV_SPLIT, POW5_SPLIT, DIGIT_PAIRS } from './ryu-tables.as';

const POW5_INV_BITCOUNT: i32 = 125;
const POW5_BITCOUNT: i32 = 125;

// ceil(log2(5^e)) for 1 <= e <= 3528 (1 for e = 0); floor(log10(2^e)); floor(log10(5^e)).
@inline function pow5bits(e: i32): i32 { return <i32>((<u32>e * 1217359) >> 19) + 1; }
@inline function log10Pow2(e: i32): i32 { return <i32>((<u32>e * 78913) >> 18); }
@inline function log10Pow5(e: i32): i32 { return <i32>((<u32>e * 732923) >> 20); }

function pow5Factor(value: u64): i32 {
  let count = 0;
  for (;;) {
    const q = value / 5;
    if (value - q * 5 != 0) break;
    value = q;
    count++;
  }
  return count;
}

@inline function multipleOfPowerOf5(value: u64, p: i32): bool { return pow5Factor(value) >= p; }
@inline function multipleOfPowerOf2(value: u64, p: i32): bool { return (value & ((<u64>1 << <u64>p) - 1)) == 0; }

// High 64 bits of a 64 x 64-bit product.
@inline function umulh(a: u64, b: u64): u64 {
  const aLo = a & 0xFFFFFFFF;
  const aHi = a >> 32;
  const bLo = b & 0xFFFFFFFF;
  const bHi = b >> 32;
  const b00 = aLo * bLo;
  const b01 = aLo * bHi;
  const b10 = aHi * bLo;
  const b11 = aHi * bHi;
  const mid1 = b10 + (b00 >> 32);
  const mid2 = b01 + (mid1 & 0xFFFFFFFF);
  return b11 + (mid1 >> 32) + (mid2 >> 32);
}

// (m * mul) >> j for a 128-bit mul at table entry `entry` (low, high), 64 < j < 128.
@inline function mulShift64(m: u64, entry: usize, j: i32): u64 {
  const mulLo = load<u64>(entry);
  const mulHi = load<u64>(entry, 8);
  const low1 = m * mulHi;
  let high1 = umulh(m, mulHi);
  const high0 = umulh(m, mulLo);
  const sum = high0 + low1;
  if (sum < high0) high1++;
  const dist = <u64>(j - 64);
  return (high1 << (64 - dist)) | (sum >> dist);
}

// (hi:lo) >> dist, for 0 < dist < 64.
@inline function shiftRight128(lo: u64, hi: u64, dist: u64): u64 {
  return (hi << (64 - dist)) | (lo >> dist);
}

// vr, vp and vm of Ryu's d2d at once, from two 64 x 128-bit products instead of three (d2s.c
// mulShiftAll64): m * mul for the middle, m * mul +- mul for the bounds. vr is returned; vp and vm
// are left in allVp and allVm.
let allVp: u64 = 0;
let allVm: u64 = 0;
@inline function mulShiftAll64(m4: u64, entry: usize, j: i32, mmShift: u64): u64 {
  const mulLo = load<u64>(entry);
  const mulHi = load<u64>(entry, 8);
  const m = m4 >> 1; // 2 * m2
  const lo = m * mulLo;
  const tmp = umulh(m, mulLo);
  const midLow = m * mulHi;
  let hi = umulh(m, mulHi);
  const mid = tmp + midLow;
  hi += <u64>(mid < tmp);

  const lo2 = lo + mulLo;
  const mid2 = mid + mulHi + <u64>(lo2 < lo);
  const hi2 = hi + <u64>(mid2 < mid);
  allVp = shiftRight128(mid2, hi2, <u64>(j - 64 - 1));

  if (mmShift == 1) {
    const lo3 = lo - mulLo;
    const mid3 = mid - mulHi - <u64>(lo3 > lo);
    const hi3 = hi - <u64>(mid3 > mid);
    allVm = shiftRight128(mid3, hi3, <u64>(j - 64 - 1));
  } else {
    const lo3 = lo + lo;
    const mid3 = mid + mid + <u64>(lo3 < lo);
    const hi3 = hi + hi + <u64>(mid3 < mid);
    const lo4 = lo3 - mulLo;
    const mid4 = mid3 - mulHi - <u64>(lo4 > lo3);
    const hi4 = hi3 - <u64>(mid4 > mid3);
    allVm = shiftRight128(mid4, hi4, <u64>(j - 64));
  }
  return shiftRight128(mid, hi, <u64>(j - 64 - 1));
}

// Ryu's result: the decimal digits and the power of ten of the last one.
let decimalDigits: u64 = 0;
let decimalExponent: i32 = 0;

function d2d(ieeeMantissa: u64, ieeeExponent: i32): void {
  let e2: i32;
  let m2: u64;
  if (ieeeExponent == 0) {
    e2 = 1 - 1023 - 52 - 2;
    m2 = ieeeMantissa;
  } else {
    e2 = ieeeExponent - 1023 - 52 - 2;
    m2 = (<u64>1 << 52) | ieeeMantissa;
  }
  const acceptBounds = (m2 & 1) == 0;
  const mv = m2 << 2;
  const mmShift: u64 = <u64>(ieeeMantissa != 0 || ieeeExponent <= 1);

  let vr: u64, vp: u64, vm: u64;
  let e10: i32;
  let vmIsTrailingZeros = false;
  let vrIsTrailingZeros = false;
  if (e2 >= 0) {
    const q = log10Pow2(e2) - <i32>(e2 > 3);
    e10 = q;
    const k = POW5_INV_BITCOUNT + pow5bits(q) - 1;
    const i = -e2 + q + k;
    const entry = POW5_INV_SPLIT + (<usize>q << 4);
    vr = mulShiftAll64(mv, entry, i, mmShift);
    vp = allVp;
    vm = allVm;
    if (q <= 21) {
      // Only one of mp, mv and mm can be a multiple of 5, if any.
      if (mv % 5 == 0) {
        vrIsTrailingZeros = multipleOfPowerOf5(mv, q);
      } else if (acceptBounds) {
        vmIsTrailingZeros = multipleOfPowerOf5(mv - 1 - mmShift, q);
      } else {
        vp -= <u64>multipleOfPowerOf5(mv + 2, q);
      }
    }
  } else {
    const q = log10Pow5(-e2) - <i32>(-e2 > 1);
    e10 = q + e2;
    const i = -e2 - q;
    const k = pow5bits(i) - POW5_BITCOUNT;
    const j = q - k;
    const entry = POW5_SPLIT + (<usize>i << 4);
    vr = mulShiftAll64(mv, entry, j, mmShift);
    vp = allVp;
    vm = allVm;
    if (q <= 1) {
      // mv = 4 * m2 always has at least two trailing zero bits.
      vrIsTrailingZeros = true;
      if (acceptBounds) {
        vmIsTrailingZeros = mmShift == 1;
      } else {
        vp--;
      }
    } else if (q < 63) {
      vrIsTrailingZeros = multipleOfPowerOf2(mv, q);
    }
  }

  // The shortest decimal in [vm, vp] (bounds included when the mantissa is even).
  let removed: i32 = 0;
  let lastRemovedDigit: u64 = 0;
  let output: u64;
  if (vmIsTrailingZeros || vrIsTrailingZeros) {
    // Rare general case (~0.7%).
    for (;;) {
      const vpDiv10 = vp / 10;
      const vmDiv10 = vm / 10;
      if (vpDiv10 <= vmDiv10) break;
      const vmMod10 = vm - vmDiv10 * 10;
      const vrDiv10 = vr / 10;
      const vrMod10 = vr - vrDiv10 * 10;
      vmIsTrailingZeros = vmIsTrailingZeros && vmMod10 == 0;
      vrIsTrailingZeros = vrIsTrailingZeros && lastRemovedDigit == 0;
      lastRemovedDigit = vrMod10;
      vr = vrDiv10;
      vp = vpDiv10;
      vm = vmDiv10;
      removed++;
    }
    if (vmIsTrailingZeros) {
      for (;;) {
        const vmDiv10 = vm / 10;
        const vmMod10 = vm - vmDiv10 * 10;
        if (vmMod10 != 0) break;
        const vpDiv10 = vp / 10;
        const vrDiv10 = vr / 10;
        const vrMod10 = vr - vrDiv10 * 10;
        vrIsTrailingZeros = vrIsTrailingZeros && lastRemovedDigit == 0;
        lastRemovedDigit = vrMod10;
        vr = vrDiv10;
        vp = vpDiv10;
        vm = vmDiv10;
        removed++;
      }
    }
    // Round half to even when the exact value is ...50...0.
    if (vrIsTrailingZeros && lastRemovedDigit == 5 && (vr & 1) == 0) lastRemovedDigit = 4;
    output = vr + <u64>((vr == vm && (!acceptBounds || !vmIsTrailingZeros)) || lastRemovedDigit >= 5);
  } else {
    // Common case.
    let roundUp = false;
    const vpDiv100 = vp / 100;
    const vmDiv100 = vm / 100;
    if (vpDiv100 > vmDiv100) {
      const vrDiv100 = vr / 100;
      roundUp = vr - vrDiv100 * 100 >= 50;
      vr = vrDiv100;
      vp = vpDiv100;
      vm = vmDiv100;
      removed += 2;
    }
    for (;;) {
      const vpDiv10 = vp / 10;
      const vmDiv10 = vm / 10;
      if (vpDiv10 <= vmDiv10) break;
      const vrDiv10 = vr / 10;
      roundUp = vr - vrDiv10 * 10 >= 5;
      vr = vrDiv10;
      vp = vpDiv10;
      vm = vmDiv10;
      removed++;
    }
    output = vr + <u64>(vr == vm || roundUp);
  }
  decimalDigits = output;
  decimalExponent = e10 + removed;
}

function decimalLength17(v: u64): i32 {
  if (v >= 10000000000000000) return 17;
  if (v >= 1000000000000000) return 16;
  if (v >= 100000000000000) return 15;
  if (v >= 10000000000000) return 14;
  if (v >= 1000000000000) return 13;
  if (v >= 100000000000) return 12;
  if (v >= 10000000000) return 11;
  if (v >= 1000000000) return 10;
  if (v >= 100000000) return 9;
  if (v >= 10000000) return 8;
  if (v >= 1000000) return 7;
  if (v >= 100000) return 6;
  if (v >= 10000) return 5;
  if (v >= 1000) return 4;
  if (v >= 100) return 3;
  if (v >= 10) return 2;
  return 1;
}

// Writes the decimal digits of v (all of them, no leading zeros) so that they end at `end`.
@inline function writeDigits32(v: u32, end: usize): usize {
  while (v >= 100) {
    const q = v / 100;
    end -= 2;
    store<u16>(end, load<u16>(DIGIT_PAIRS + ((v - q * 100) << 1)));
    v = q;
  }
  if (v >= 10) {
    end -= 2;
    store<u16>(end, load<u16>(DIGIT_PAIRS + (v << 1)));
  } else {
    end -= 1;
    store<u8>(end, 48 + v);
  }
  return end;
}

// Writes exactly eight digits of v < 10^8 (leading zeros included) so that they end at `end`.
@inline function writeEightDigits(v: u32, end: usize): usize {
  // Two halves of four digits, each two pairs: independent, so the CPU works on them together.
  const high = v / 10000;
  const low = v - high * 10000;
  const h1 = high / 100;
  const l1 = low / 100;
  store<u16>(end - 8, load<u16>(DIGIT_PAIRS + (h1 << 1)));
  store<u16>(end - 6, load<u16>(DIGIT_PAIRS + ((high - h1 * 100) << 1)));
  store<u16>(end - 4, load<u16>(DIGIT_PAIRS + (l1 << 1)));
  store<u16>(end - 2, load<u16>(DIGIT_PAIRS + ((low - l1 * 100) << 1)));
  return end - 8;
}

function writeDigits(v: u64, end: usize): void {
  // Up to 17 digits: the low eight, the middle eight and the rest, each part divided out of v
  // directly (not one after another), in 32-bit arithmetic from there.
  if (v < 100000000) {
    writeDigits32(<u32>v, end);
    return;
  }
  const q = v / 100000000;
  const low = <u32>(v - q * 100000000);
  if (q < 100000000) {
    writeEightDigits(low, end);
    writeDigits32(<u32>q, end - 8);
    return;
  }
  const top = v / 10000000000000000;
  const middle = <u32>(q - top * 100000000);
  writeEightDigits(low, end);
  writeEightDigits(middle, end - 8);
  writeDigits32(<u32>top, end - 16);
}

// Byte loops, not memory.fill/memory.copy: those are calls out of the module, which cost more
// than the few bytes moved here (half of writeShortest's time went to them).
@inline function fill(at: usize, byte: u8, count: i32): void {
  for (let i = 0; i < count; i++) store<u8>(at + <usize>i, byte);
}

/** Writes String(x) at `at` and returns where it ends; NaN writes nothing (a missing value). */
export function writeShortest(x: f64, at: usize): usize {
  if (x != x) return at;
  const bits = reinterpret<u64>(x);
  if ((bits >> 63) != 0 && x != 0) {
    store<u8>(at, 45); // -
    at++;
  }
  const ieeeMantissa = bits & ((<u64>1 << 52) - 1);
  const ieeeExponent = <i32>((bits >> 52) & 0x7FF);
  if (ieeeExponent == 0x7FF) {
    // Infinity (NaN returned above).
    store<u64>(at, 0x7974696E69666E49); // "Infinity"
    return at + 8;
  }
  if (ieeeExponent == 0 && ieeeMantissa == 0) {
    store<u8>(at, 48);
    return at + 1;
  }
  d2d(ieeeMantissa, ieeeExponent);
  const digits = decimalDigits;
  const k = decimalLength17(digits);
  const n = decimalExponent + k; // x = 0.d1d2...dk * 10^n
  if (k <= n && n <= 21) {
    // Integer: digits then zeros.
    writeDigits(digits, at + k);
    fill(at + k, 48, n - k);
    return at + n;
  }
  if (0 < n && n <= 21) {
    // d.ddd with n digits before the point.
    writeDigits(digits, at + 1 + k);
    for (let i: usize = 0; i < <usize>n; i++) store<u8>(at + i, load<u8>(at + i + 1));
    store<u8>(at + n, 46);
    return at + 1 + k;
  }
  if (-6 < n && n <= 0) {
    // 0.000ddd
    store<u16>(at, 0x2E30); // "0."
    fill(at + 2, 48, -n);
    writeDigits(digits, at + 2 - n + k);
    return at + 2 - n + k;
  }
  // Exponential: d[.ddd]e+N or e-N.
  let end: usize;
  if (k == 1) {
    store<u8>(at, <u8>(48 + digits));
    end = at + 1;
  } else {
    writeDigits(digits, at + 1 + k);
    store<u8>(at, load<u8>(at + 1));
    store<u8>(at + 1, 46);
    end = at + 1 + k;
  }
  const e = n - 1;
  store<u16>(end, e < 0 ? 0x2D65 : 0x2B65); // "e-" or "e+"
  end += 2;
  const magnitude = <u32>(e < 0 ? -e : e);
  const width: usize = magnitude >= 100 ? 3 : magnitude >= 10 ? 2 : 1;
  writeDigits32(magnitude, end + width);
  return end + width;
}

/** x as RowBytes.number writes it: "-0" for -0 (String(-0) is "0", which would lose the sign). */
@inline function writeNumber(x: f64, at: usize): usize {
  if (x == 0 && (reinterpret<u64>(x) >> 63) != 0) {
    store<u16>(at, 0x302D); // "-0"
    return at + 2;
  }
  return writeShortest(x, at);
}

@inline function copyBytes(to: usize, from: usize, n: usize): usize {
  if (n > 32) {
    memory.copy(to, from, n);
  } else {
    for (let i: usize = 0; i < n; i++) store<u8>(to + i, load<u8>(from + i));
  }
  return to + n;
}

/**
 * Rows of CSV text with their value cells replaced, as row-rewrite.ts rewriteRows writes them,
 * in one call: `count` rows at `bytes` ([start, end) pairs at `records`, `columns` cell spans a
 * row at `spans`: i32 offsets, of which `origin` is bytes[0]), row i's value k at values[i * cells + k] (f64), the
 * value cells in order of appearance at orderValue/orderColumn (i32), the delimiter, and the
 * terminator (termLen bytes at `term`). Writes at `out` (room for the rows plus 25 bytes a value
 * and a terminator a row); returns where the output ends.
 */
export function rewriteRows(bytes: usize, origin: i32, records: usize, spans: usize, columns: i32, count: i32, values: usize, cells: i32, orderValue: usize, orderColumn: usize, delimiter: u8, term: usize, termLen: i32, out: usize): usize {
  let at = out;
  bytes -= <usize>origin; // offsets are the rows' places in the text they were read from
  const rowSpan = <usize>columns << 3;
  for (let i = 0; i < count; i++) {
    const base = spans + <usize>i * rowSpan;
    const rowValues = values + ((<usize>i * <usize>cells) << 3);
    let pos = load<i32>(records + (<usize>i << 3));
    let prev = -2;
    for (let j = 0; j < cells; j++) {
      const col = load<i32>(orderColumn + (<usize>j << 2));
      const cell = base + (<usize>col << 3);
      if (col == prev + 1) {
        store<u8>(at, delimiter);
        at++;
      } else {
        at = copyBytes(at, bytes + <usize>pos, <usize>(load<i32>(cell) - pos));
      }
      at = writeNumber(load<f64>(rowValues + (<usize>load<i32>(orderValue + (<usize>j << 2)) << 3)), at);
      pos = load<i32>(cell, 4);
      prev = col;
    }
    at = copyBytes(at, bytes + <usize>pos, <usize>(load<i32>(records + (<usize>i << 3), 4) - pos));
    at = copyBytes(at, term, <usize>termLen);
  }
  return at;
}

/** Where memory that JavaScript may use begins (after the tables). */
export function heapStart(): usize {
  return (__heap_base + 15) & ~<usize>15;
}
