/** Deterministic 32-bit words (xorshift32), so that failures reproduce. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Deterministic numbers in [0, 1). */
export function random(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 2 ** 32;
}
