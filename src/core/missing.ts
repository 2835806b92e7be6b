/**
 * A missing value among a channel's values (an Arrow null, an empty CSV cell). The core treats it
 * as it treats every NaN; it is a NaN with bits of its own, so that a writer that changes no
 * value (`convert`) can tell it from a NaN the data holds, and write a null for the one and a NaN
 * for the other. Its payload sits in the mantissa's top bits, which a float32 keeps: it survives
 * float64 -> float32 -> float64 (float32 inputs are read as float32). A NaN that arithmetic makes
 * (0/0, a NaN operand) is the plain quiet NaN, so only readers make this one.
 */
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
const NULL_HIGH_WORD = 0x7ffc0000;

scratchWords[1] = NULL_HIGH_WORD;
scratchWords[0] = 0;

/** The missing value: store it into a Float32Array or Float64Array as it is (plain JS arrays may not keep its bits). */
export const NULL_VALUE: number = scratch[0]!;

/** Whether x is the missing value (not a NaN of the data's own, nor a number). */
export function isNullValue(x: number): boolean {
  if (x === x) return false;
  scratch[0] = x;
  return scratchWords[1] === NULL_HIGH_WORD && scratchWords[0] === 0;
}
