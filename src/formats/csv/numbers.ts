/**
 * Numbers in CSV cells. Reading: empty cells, NA and null are missing (NULL_VALUE); NaN/nan is
 * a NaN, inf/Infinity an infinity, as numpy and pandas write them (the core takes both kinds of
 * NaN as missing; `convert` writes each back as it was); anything else must be a decimal number.
 * Writing: the shortest text that reads back as the same float64 (what JavaScript prints), or N
 * significant digits; missing values are written as empty cells.
 */
import { NULL_VALUE } from '../../core/missing.js';

const MISSING = new Set(['', 'NA', 'N/A', 'null', 'NULL']);
const NOT_A_NUMBER = new Set(['nan', 'NaN', 'NAN']);
const INFINITE: Record<string, number> = {
  inf: Infinity,
  '+inf': Infinity,
  '-inf': -Infinity,
  Inf: Infinity,
  '+Inf': Infinity,
  '-Inf': -Infinity,
  Infinity: Infinity,
  '+Infinity': Infinity,
  '-Infinity': -Infinity,
  INF: Infinity,
  '-INF': -Infinity,
};
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** The cell's number; NULL_VALUE (a NaN) for a missing value; undefined when the cell is not a number. */
export function parseNumber(text: string): number | undefined {
  // Fast path: Number() agrees with a decimal reading when the text starts with 1-9, a sign or a
  // point. Number() also reads '0x10', '0b1', '0o7' (after blanks too) and '' as numbers: those
  // start otherwise and take the strict path.
  const c = text.charCodeAt(0);
  if ((c >= 49 && c <= 57) || c === 45 || c === 43 || c === 46) {
    const x = +text;
    if (x === x) return x;
  }
  const t = text.trim();
  if (MISSING.has(t)) return NULL_VALUE;
  if (NOT_A_NUMBER.has(t)) return NaN;
  const inf = INFINITE[t];
  if (inf !== undefined) return inf;
  return DECIMAL.test(t) ? Number(t) : undefined;
}

/**
 * Whether float64 holds the integer `v` (whose text parsed to `x`): exactly, or as the shortest
 * text of that double, which is how float writers (this one too) write a double beyond 2^53
 * (71477126790598570 is such a double, whose exact value ends in ...568). Not 1700000000000000001,
 * whose double is written 1700000000000000000, nor 10^400.
 */
export function exactAsDouble(x: number, v: bigint): boolean {
  return Number.isSafeInteger(x) || (Number.isFinite(x) && (BigInt(x) === v || shortestAsInteger(x) === v));
}

/** An integral double's shortest text (String(x): digits, or digits with an exponent from 1e21) as the integer it writes. */
function shortestAsInteger(x: number): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e\+(\d+))?$/.exec(String(x))!;
  const fraction = m[3] ?? '';
  const v = BigInt(m[2]! + fraction) * 10n ** BigInt(Number(m[4] ?? 0) - fraction.length);
  return m[1] ? -v : v;
}

/** An integer as a cell writes it (blanks around it allowed). */
export const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;

/**
 * Whether a cell that parsed to `x` is an integer float64 cannot hold (1700000000000000001 reads
 * as ...000; see exactAsDouble). Below 2^53 every integer is exact.
 */
export function roundedInteger(text: string, x: number): boolean {
  return !(Math.abs(x) < 2 ** 53) && x === x && INTEGER_TEXT.test(text) && !exactAsDouble(x, BigInt(text.trim()));
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * The number in bytes[start, end) (ASCII) when it is a plain decimal of at most 15 significant digits and
 * a small exponent: then digits * 10^e (or / 10^-e) is one correctly rounded operation on two
 * exact doubles (Clinger's fast path), the same double Number() gives. Anything else, including
 * empty and missing cells, returns undefined: the caller falls back to parseNumber.
 */
export function parseDecimalAt(bytes: Uint8Array, start: number, end: number): number | undefined {
  // Every read stays inside [start, end): reading past the array's end gives undefined, which
  // would make V8 deoptimize this loop on the last cell of each row.
  let i = start;
  if (i >= end) return undefined;
  let c = bytes[i]!;
  const negative = c === 45; /* - */
  if (negative || c === 43 /* + */) {
    if (++i >= end) return undefined;
    c = bytes[i]!;
  }
  let mantissa = 0;
  let digits = 0;
  let exponent = 0;
  let seen = false;
  // c is -1 once the cell has been read to its end.
  for (;;) {
    const d = c - 48;
    if (d < 0 || d > 9) break;
    seen = true;
    if (mantissa !== 0 || d !== 0) {
      // leading zeros count for nothing
      mantissa = mantissa * 10 + d;
      digits++;
    }
    c = ++i < end ? bytes[i]! : -1;
  }
  if (c === 46 /* . */) {
    for (c = ++i < end ? bytes[i]! : -1; ; c = ++i < end ? bytes[i]! : -1) {
      const d = c - 48;
      if (d < 0 || d > 9) break;
      seen = true;
      exponent--;
      if (mantissa !== 0 || d !== 0) {
        mantissa = mantissa * 10 + d;
        digits++;
      }
    }
  }
  if (!seen || digits > 15) return undefined;
  if (c === 101 || c === 69 /* e E */) {
    let e = 0;
    c = ++i < end ? bytes[i]! : -1;
    const eNegative = c === 45;
    if (eNegative || c === 43) c = ++i < end ? bytes[i]! : -1;
    const first = i;
    for (; c >= 48 && c <= 57; c = ++i < end ? bytes[i]! : -1) e = e * 10 + (c - 48);
    if (i === first || e > 400) return undefined;
    exponent += eNegative ? -e : e;
  }
  if (i !== end || exponent > 22 || exponent < -22) return undefined;
  const x = exponent >= 0 ? mantissa * POW10[exponent]! : mantissa / POW10[-exponent]!;
  return negative ? -x : x;
}

/** A formatter for output cells. */
export function numberFormatter(precision?: number): (x: number) => string {
  if (precision === undefined) return (x) => (x === x ? String(x) : '');
  return (x) => (x === x ? String(Number(x.toPrecision(precision))) : '');
}

/** bytes[from, to) as a byte string: one character a byte (Latin-1 decoding, a plain copy). */
export function latin1(bytes: Uint8Array, from: number, to: number): string {
  // Cells are short: char codes straight from the bytes, without a Buffer and its encoding lookup
  // (whose first call costs a small job's start-up more than the cells do).
  if (to - from <= 64) {
    let s = '';
    for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1');
}
