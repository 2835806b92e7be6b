import { TsnormError } from '../errors.js';
import { PASS_TYPES, type PassType } from '../formats/format.js';

/**
 * The parsers of flag values: each takes the text given and the flag's name (for its message)
 * and returns the value, or refuses it with a usage error. The flag table (flags.ts) names the
 * parser of each flag that takes a value.
 */
export type ValueParser<T = unknown> = (value: string, flag: string) => T;

export const wholeNumber: ValueParser<number> = (v, flag) => {
  const x = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(x)) throw new TsnormError(`${flag}: expected a whole number >= 0, got '${v}'`, 'TSNORM_USAGE');
  return x;
};

export const positiveInteger: ValueParser<number> = (v, flag) => {
  const x = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(x) || x < 1) throw new TsnormError(`${flag}: expected a whole number >= 1, got '${v}'`, 'TSNORM_USAGE');
  return x;
};

/** A decimal number above `min`. */
export function numberAbove(min: number): ValueParser<number> {
  return (v, flag) => {
    const x = Number(v);
    if (!/^\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v) || !(x > min)) throw new TsnormError(`${flag}: expected a number above ${min}, got '${v}'`, 'TSNORM_USAGE');
    return x;
  };
}

export function oneOf<T extends string>(v: string, choices: readonly T[], flag: string): T {
  const found = choices.find((c) => c === v);
  if (found === undefined) throw new TsnormError(`${flag}: expected one of ${choices.join(', ')}, got '${v}'`, 'TSNORM_USAGE');
  return found;
}

/** Comma-separated column names, none empty. */
export const names: ValueParser<string[]> = (v, flag) => {
  const list = v.split(',').map((s) => s.trim());
  if (list.some((s) => s === '')) throw new TsnormError(`${flag}: expected comma-separated column names, got '${v}'`, 'TSNORM_USAGE');
  return list;
};

/** --types a=int64,b=utf8: a type per column name, each named once. */
export const columnTypes: ValueParser<ReadonlyMap<string, PassType>> = (v, flag) => {
  const types = new Map<string, PassType>();
  for (const item of v.split(',')) {
    const at = item.lastIndexOf('=');
    const name = item.slice(0, at).trim();
    if (at < 0 || name === '') throw new TsnormError(`${flag}: expected COLUMN=TYPE[,COLUMN=TYPE...], got '${item.trim()}'`, 'TSNORM_USAGE');
    if (types.has(name)) throw new TsnormError(`${flag}: column '${name}' is named twice`, 'TSNORM_USAGE');
    types.set(name, oneOf(item.slice(at + 1).trim(), PASS_TYPES, `${flag} ${name}`));
  }
  return types;
};

const DELIMITER_NAMES: Readonly<Record<string, string>> = { '\\t': '\t', tab: '\t', comma: ',', semicolon: ';', space: ' ', pipe: '|' };

/** A field delimiter: one ASCII byte that cannot be part of a number, a quote or a line break (or its name). */
export const delimiter: ValueParser<string> = (v, flag) => {
  const d = DELIMITER_NAMES[v] ?? v;
  if (d.length !== 1 || d.charCodeAt(0) > 0x7e || /[0-9.+\-eE"\n\r\0]/.test(d) || (d < ' ' && d !== '\t')) {
    throw new TsnormError(`${flag}: expected one ASCII character that cannot be part of a number (',', ';', '|', tab, ...), got '${v}'`, 'TSNORM_USAGE');
  }
  return d;
};

/** Significant digits of CSV output: 17 already round-trips every float64. */
export const precision: ValueParser<number> = (v, flag) => {
  const n = positiveInteger(v, flag);
  if (n > 17) throw new TsnormError(`${flag}: at most 17 significant digits (17 already round-trips every float64)`, 'TSNORM_USAGE');
  return n;
};

/** A parser's number, at most `max`. */
export function atMost(max: number, parse: ValueParser<number>): ValueParser<number> {
  return (v, flag) => {
    const n = parse(v, flag);
    if (n > max) throw new TsnormError(`${flag}: at most ${max}, got '${v}'`, 'TSNORM_USAGE');
    return n;
  };
}
