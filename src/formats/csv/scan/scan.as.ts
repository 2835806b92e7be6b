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
  if (capacity <= 0) {
    stoppedAt = start;
    lineAfter = ln;
    return 0;
  }
  const rowSpan: usize = <usize>columns << 3;
  let k: usize = spans;
  let limit: usize = k + rowSpan - 8;
  let cellStart = start;
  let ragged = false;
  const delims = i8x16.splat(<i8>delim);
  const newlines = i8x16.splat(<i8>NL);
  // Sixteen bytes at a time: a mask of the delimiters and line feeds among them, then each of those
  // in order (a row of ~100 bytes has a dozen). Bytes past n are masked off (memory goes on after
  // the region: the caller reserves room beyond it).
  for (let block = pos; block < n; block += 16) {
    const v = v128.load(base + <usize>block);
    let mask = <u32>i8x16.bitmask(v128.or(i8x16.eq(v, delims), i8x16.eq(v, newlines)));
    if (n - block < 16) mask &= (<u32>1 << <u32>(n - block)) - 1;
    while (mask != 0) {
      const p = block + <i32>ctz(mask);
      mask &= mask - 1;
      if (load<u8>(base + <usize>p) != NL) {
        // A delimiter: the cell under way ends here.
        if (k == limit) ragged = true;
        if (!ragged) {
          store<i32>(k, cellStart);
          store<i32>(k, p, 4);
          k += 8;
        }
        cellStart = p + 1;
        continue;
      }
      const ended = endRecord(base, start, p, delim, k, limit, ragged, cellStart, records, lines, count, ln);
      if (ended < 0) return -1;
      count += ended;
      ln++;
      start = p + 1;
      cellStart = start;
      ragged = false;
      k = spans + <usize>count * rowSpan;
      limit = k + rowSpan - 8;
      if (count == capacity) {
        stoppedAt = start;
        lineAfter = ln;
        return count;
      }
    }
  }
  if (atEnd && start < n) {
    // The last record, without a line feed.
    const ended = endRecord(base, start, n, delim, k, limit, ragged, cellStart, records, lines, count, ln);
    if (ended < 0) return -1;
    count += ended;
    ln++;
    start = n;
  }
  stoppedAt = start;
  lineAfter = ln;
  return count;
}

/**
 * Ends the record [start, end) (end: its line feed, or the end of the text): drops a CR before
 * the line feed. Returns 0 for a blank line (skipped: nothing written), 1 for a record (its last
 * cell, its span and line written as record `count`), -1 for a record with another number of cells.
 */
@inline function endRecord(base: usize, start: i32, end: i32, delim: u8, k: usize, limit: usize, ragged: bool, cellStart: i32, records: usize, lines: usize, count: i32, ln: i32): i32 {
  let stop = end;
  if (stop > start && load<u8>(base + <usize>(stop - 1)) == CR) stop--;
  if (stop == start) return 0;
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
  return 1;
}

// 10^0 ... 10^22: exact doubles.
const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
  1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

// 10^0 ... 10^19, as integers.
const POW10_U64: StaticArray<u64> = [
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000,
  100000000000, 1000000000000, 10000000000000, 100000000000000, 1000000000000000,
  10000000000000000, 100000000000000000, 1000000000000000000, 10000000000000000000,
];

const ZEROS: u64 = 0x3030303030303030; // "00000000"

/** How many of the 16 bytes at `at` are ASCII digits before the first that is not (16 if all). */
@inline function digitRun(at: usize): i32 {
  const d = i8x16.sub(v128.load(at), i8x16.splat(48));
  return <i32>ctz(~<u32>i8x16.bitmask(i8x16.lt_u(d, i8x16.splat(10))));
}

/**
 * The value of the `count` (at most 8) ASCII digits at `at`, first digit most significant: the
 * bytes after them shifted out, '0's shifted in before them, then all eight at once (Lemire's
 * SWAR conversion): no chain of multiplications digit after digit.
 */
@inline function digitsValue(at: usize, count: i32): u64 {
  if (count == 0) return 0;
  const shift = <u64>(8 - count) << 3;
  let x = (load<u64>(at) << shift) | (ZEROS & ((<u64>1 << shift) - 1));
  x -= ZEROS;
  x = x * 10 + (x >> 8);
  return (((x & 0x000000FF000000FF) * 0x000F424000000064) + (((x >> 16) & 0x000000FF000000FF) * 0x0000271000000001)) >> 32;
}

/** The value of `count` (at most 16) digits at `at`. */
@inline function runValue(at: usize, count: i32): u64 {
  if (count <= 8) return digitsValue(at, count);
  return digitsValue(at, 8) * unchecked(POW10_U64[count - 8]) + digitsValue(at + 8, count - 8);
}

/**
 * The plain decimal at base[start, end), or NaN when declined. Taken: an optional sign, digits
 * with an optional point (at most 19 of them, 16 on each side), an optional exponent; a mantissa
 * of at most 2^53 (exact as a double) and a power of ten within 10^+-22, so that one correctly
 * rounded multiplication or division gives what Number() gives (Clinger's fast path, as numbers.ts
 * parseDecimalAt, which counts significant digits instead: it also takes 0.000... with more than
 * 19 digits, which this declines). Reads up to 16 bytes past a cell (the caller keeps memory
 * there), counting only what lies before `end`.
 */
@inline function decimal(base: usize, start: i32, end: i32): f64 {
  let i = start;
  if (i >= end) return NaN;
  const first: i32 = load<u8>(base + <usize>i);
  const negative = first == 45;
  if (negative || first == 43) {
    if (++i >= end) return NaN;
  }
  let whole = digitRun(base + <usize>i);
  if (whole > end - i) whole = end - i;
  let mantissa = runValue(base + <usize>i, whole);
  i += whole;
  let digits = whole;
  let exponent = 0;
  if (i < end && load<u8>(base + <usize>i) == 46) {
    i++;
    let fraction = digitRun(base + <usize>i);
    if (fraction > end - i) fraction = end - i;
    // More than 19 digits may not fit 64 bits: declined (the mantissa check below needs it exact).
    if (whole + fraction > 19) return NaN;
    mantissa = mantissa * unchecked(POW10_U64[fraction]) + runValue(base + <usize>i, fraction);
    i += fraction;
    digits += fraction;
    exponent = -fraction;
  }
  if (digits == 0) return NaN;
  if (i < end) {
    let c: i32 = load<u8>(base + <usize>i);
    // Not an exponent (or a run of more than 16 digits, which digitRun stopped short of): declined.
    if (c != 101 && c != 69) return NaN;
    let e = 0;
    c = ++i < end ? <i32>load<u8>(base + <usize>i) : -1;
    const eNegative = c == 45;
    if (eNegative || c == 43) c = ++i < end ? <i32>load<u8>(base + <usize>i) : -1;
    const firstDigit = i;
    for (; <u32>(c - 48) <= 9; c = ++i < end ? <i32>load<u8>(base + <usize>i) : -1) {
      e = e * 10 + (c - 48);
      if (e > 400) return NaN;
    }
    if (i == firstDigit || i != end) return NaN;
    exponent += eNegative ? -e : e;
  }
  if (mantissa > (<u64>1 << 53) || exponent > 22 || exponent < -22) return NaN;
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
