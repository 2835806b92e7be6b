/**
 * Numbers in CSV cells. Reading: empty cells and NaN/nan are missing (NaN); inf/Infinity are
 * accepted as numpy and pandas write them; anything else must be a decimal number. Writing: the
 * shortest text that reads back as the same float64 (what JavaScript prints), or N significant
 * digits; missing values are written as empty cells.
 */

const MISSING = new Set(['', 'nan', 'NaN', 'NAN', 'NA', 'N/A', 'null', 'NULL']);
const INFINITE: Record<string, number> = {
  inf: Infinity, '+inf': Infinity, '-inf': -Infinity, Inf: Infinity, '+Inf': Infinity, '-Inf': -Infinity,
  Infinity: Infinity, '+Infinity': Infinity, '-Infinity': -Infinity, INF: Infinity, '-INF': -Infinity,
};
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** The cell's number; NaN for a missing value; undefined when the cell is not a number. */
export function parseNumber(text: string): number | undefined {
  const x = +text;
  // Fast path: a plain decimal (Number() also takes hex, binary and '' which need a closer look).
  if (x === x && text.length > 0 && text.charCodeAt(0) !== 48 /* 0x.. 0b.. 0o.. */ && x !== 0) return x;
  const t = text.trim();
  if (MISSING.has(t)) return NaN;
  const inf = INFINITE[t];
  if (inf !== undefined) return inf;
  return DECIMAL.test(t) ? Number(t) : undefined;
}

/** A formatter for output cells. */
export function numberFormatter(precision?: number): (x: number) => string {
  if (precision === undefined) return (x) => (x === x ? String(x) : '');
  return (x) => (x === x ? String(Number(x.toPrecision(precision))) : '');
}
