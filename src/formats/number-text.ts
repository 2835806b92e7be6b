/** Numbers as text where every digit is the value's own: no format needs more, none shows less. */

/** The shortest text that reads back as the same float32. */
export function float32Text(x: number): string {
  if (!Number.isFinite(x) || x === 0) return numberText(x);
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return numberText(Number(s));
  }
  return numberText(x);
}

/** A number as JavaScript writes it, but -0 keeps its sign. */
export function numberText(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/** Whether the 64-bit integer `v`, read as the double `x`, was rounded (only possible beyond 2^53). */
export function roundedToDouble(v: bigint, x: number): boolean {
  return !(Math.abs(x) < 2 ** 53) && BigInt(x) !== v;
}

/**
 * Why `convert` stops at an integer float64 would round (channels are carried as float64): the
 * value, and the way out where there is one (a table's column can pass through unchanged).
 */
export function roundedIntegerMessage(value: string, column?: string): string {
  const out = column === undefined ? '' : `: --keep ${column} carries the column through unchanged`;
  return `${value} is an integer beyond 2^53, which a channel (float64) would round, and convert changes no value${out}`;
}
