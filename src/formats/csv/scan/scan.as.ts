// AssemblyScript, compiled to WebAssembly by scripts/build-kernels.mjs (npm run kernels) into
// scan-wasm.ts: the hot loops of CSV reading, over bytes in this module's memory. splitPlain
// finds the records and cells of text without quotes (text with quotes goes to csv-parse);
// parseCells reads plain decimals with the same fast path as numbers.ts parseDecimalAt (Clinger:
// at most 15 significant digits and |exponent| <= 22, one correctly rounded operation), and
// declines anything else for JavaScript to read. test/formats/csv-scan.test.ts holds them to the
// JavaScript reading.

const NL: u8 = 10;
const CR: u8 = 13;

let stoppedAt: i32 = 0;
let lineAfter: i32 = 0;
let cellsFound: i32 = 0;

/** Where splitPlain stopped: after the last record it wrote (or the blank lines after it). */
export function consumed(): i32 { return stoppedAt; }
/** The line number after the last line splitPlain went past; for a ragged record, its line. */
export function line(): i32 { return lineAfter; }
/** The cells of the ragged record splitPlain stopped at. */
export function raggedCells(): i32 { return cellsFound; }

/**
 * Splits the records of base[pos, n) (text without quotes) into at most `capacity` records:
 * their [start, end) (without the line terminator) at `records`, `columns` cell spans each at
 * `spans`, their line numbers at `lines` (i32 each; offsets are from base). Blank lines are
 * skipped. A last record without a line feed is taken only when `atEnd`. Returns the records
 * written, or -1 for a record with another number of cells than `columns` (see line(), raggedCells()).
 */
export function splitPlain(base: usize, pos: i32, n: i32, atEnd: bool, delim: u8, columns: i32, records: usize, spans: usize, lines: usize, capacity: i32, firstLine: i32): i32 {
  let count: i32 = 0;
  let ln = firstLine;
  let start = pos;
  const rowSpan: usize = <usize>columns << 3;
  while (start < n && count < capacity) {
    let k: usize = spans + <usize>count * rowSpan;
    const limit: usize = k + rowSpan - 8;
    let cellStart = start;
    let i = start;
    let ragged = false;
    for (; i < n; i++) {
      const c = load<u8>(base + <usize>i);
      if (c == NL) break;
      if (c != delim) continue;
      if (k == limit) ragged = true;
      if (!ragged) {
        store<i32>(k, cellStart);
        store<i32>(k, i, 4);
        k += 8;
      }
      cellStart = i + 1;
    }
    if (i == n && !atEnd) break;
    let stop = i;
    if (stop > start && load<u8>(base + <usize>(stop - 1)) == CR) stop--;
    if (stop == start) {
      // A blank line: skipped.
      ln++;
      start = i + 1;
      continue;
    }
    if (ragged || k != limit) {
      let cells = 1;
      for (let j = start; j < stop; j++) if (load<u8>(base + <usize>j) == delim) cells++;
      stoppedAt = start;
      lineAfter = ln;
      cellsFound = cells;
      return -1;
    }
    store<i32>(k, cellStart);
    store<i32>(k, stop, 4);
    store<i32>(records + (<usize>count << 3), start);
    store<i32>(records + (<usize>count << 3), stop, 4);
    store<i32>(lines + (<usize>count << 2), ln);
    ln++;
    count++;
    start = i + 1;
  }
  stoppedAt = start < n ? start : n;
  lineAfter = ln;
  return count;
}

// 10^0 ... 10^22: exact doubles.
const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
  1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/** The plain decimal at base[start, end) (as parseDecimalAt reads it), or NaN when declined. */
@inline function decimal(base: usize, start: i32, end: i32): f64 {
  let i = start;
  if (i >= end) return NaN;
  let c: i32 = load<u8>(base + <usize>i);
  const negative = c == 45;
  if (negative || c == 43) {
    if (++i >= end) return NaN;
    c = load<u8>(base + <usize>i);
  }
  let mantissa: u64 = 0;
  let digits = 0;
  let exponent = 0;
  let seen = false;
  for (;;) {
    const d = c - 48;
    if (<u32>d > 9) break;
    seen = true;
    if (mantissa != 0 || d != 0) {
      mantissa = mantissa * 10 + <u64>d;
      digits++;
    }
    c = ++i < end ? <i32>load<u8>(base + <usize>i) : -1;
  }
  if (c == 46) {
    for (c = ++i < end ? <i32>load<u8>(base + <usize>i) : -1; ; c = ++i < end ? <i32>load<u8>(base + <usize>i) : -1) {
      const d = c - 48;
      if (<u32>d > 9) break;
      seen = true;
      exponent--;
      if (mantissa != 0 || d != 0) {
        mantissa = mantissa * 10 + <u64>d;
        digits++;
      }
    }
  }
  // More than 15 digits: the mantissa may not be exact (and u64 may wrap): declined.
  if (!seen || digits > 15) return NaN;
  if (c == 101 || c == 69) {
    let e = 0;
    c = ++i < end ? <i32>load<u8>(base + <usize>i) : -1;
    const eNegative = c == 45;
    if (eNegative || c == 43) c = ++i < end ? <i32>load<u8>(base + <usize>i) : -1;
    const first = i;
    for (; <u32>(c - 48) <= 9; c = ++i < end ? <i32>load<u8>(base + <usize>i) : -1) {
      e = e * 10 + (c - 48);
      if (e > 400) return NaN;
    }
    if (i == first) return NaN;
    exponent += eNegative ? -e : e;
  }
  if (i != end || exponent > 22 || exponent < -22) return NaN;
  const m = <f64>mantissa;
  const x = exponent >= 0 ? m * unchecked(POW10[exponent]) : m / unchecked(POW10[-exponent]);
  return negative ? -x : x;
}

/**
 * Reads cells into `values` (f64): for cell index q from `from` to count * C - 1, record q / C,
 * column cols[q % C] (i32 each), whose span is in `spans` (`columns` pairs a record). Returns
 * the index of the first cell declined (for JavaScript to read; call again from the next), or -1.
 */
export function parseCells(base: usize, spans: usize, columns: i32, from: i32, count: i32, cols: usize, C: i32, values: usize): i32 {
  const total = count * C;
  let r = from / C;
  let k = from - r * C;
  for (let q = from; q < total; q++) {
    const at = spans + ((<usize>r * <usize>columns + <usize>load<i32>(cols + (<usize>k << 2))) << 3);
    const x = decimal(base, load<i32>(at), load<i32>(at, 4));
    if (isNaN(x)) return q;
    store<f64>(values + (<usize>q << 3), x);
    if (++k == C) {
      k = 0;
      r++;
    }
  }
  return -1;
}

/** Where memory that JavaScript may use begins. */
export function heapStart(): usize {
  return (__heap_base + 15) & ~<usize>15;
}
