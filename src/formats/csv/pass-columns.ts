import { TsnormError } from '../../errors.js';
import type { CellValue, ElementType, PassColumn, RowText } from '../types.js';
import { cellForMessage, shownText } from './byte-text.js';
import { isNullValue } from '../../core/missing.js';
import { INTEGER_TEXT, exactAsDouble, latin1, parseNumber } from './numbers.js';
import { type RecordBatch, cellText } from './records.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * The type of a pass-through column, from the first rows read, so that every value of those rows
 * is held exactly: integers are int64 (nanosecond epochs too), or uint64 where one is above
 * int64 and none is negative; numbers with fractions (NaN and infinities too) float64; anything else, and numbers no such
 * type holds exactly (an integer beyond uint64, or beyond 2^53 beside fractions), text. Missing
 * cells say nothing. A later cell the type cannot hold is an error (CsvPassColumn.value).
 */
export function inferColumnType(sample: RecordBatch | null, column: number): ElementType {
  let fractions = false;
  let integers = false;
  let negative = false;
  let aboveInt64 = false;
  let inexactAsDouble = false;
  for (let r = 0; sample && r < sample.count; r++) {
    const text = cellText(sample, r, column);
    const x = parseNumber(text);
    if (x === undefined) return 'utf8';
    if (isNullValue(x)) continue; // missing
    if (!INTEGER_TEXT.test(text)) {
      // A fraction, an exponent, an infinity or a NaN: float64.
      fractions = true;
      continue;
    }
    const v = BigInt(text.trim());
    if (v < INT64_MIN || v > UINT64_MAX) return 'utf8';
    integers = true;
    negative ||= v < 0n;
    aboveInt64 ||= v > INT64_MAX;
    inexactAsDouble ||= !exactAsDouble(x, v);
  }
  if (fractions) return inexactAsDouble ? 'utf8' : 'float64';
  if (!integers) return 'utf8';
  if (!aboveInt64) return 'int64';
  return negative ? 'utf8' : 'uint64';
}

/**
 * One column's cells over a block's rows, read from the rows' text when asked: as text (what the
 * file says) or as a value of the column's type (for typed outputs). A cell that does not fit the
 * type the first rows gave the column is an error naming its line.
 */
export class CsvPassColumn implements PassColumn {
  constructor(
    private readonly rows: RowText,
    private readonly column: number,
    private readonly type: ElementType,
    private readonly source: string,
    private readonly name: string,
    /** Whether the type was declared (--types) rather than taken from the first rows. */
    private readonly declared = false,
    /** Whether the column holds the ids: an empty id is the text '', never a missing value. */
    private readonly isId = false,
  ) {}

  get length(): number {
    return this.rows.count;
  }

  private bytes(i: number): string {
    return rowCell(this.rows, this.rows.first + i, this.column);
  }

  text(i: number): string {
    return shownText(this.bytes(i));
  }

  value(i: number): CellValue {
    const cell = this.bytes(i);
    // A quoted empty cell ("") is an empty string; an empty one, a missing value (as pyarrow and polars read them).
    if (this.type === 'utf8') return cell !== '' ? shownText(cell) : this.quoted(i) || this.isId ? '' : null;
    const x = parseNumber(cell);
    if (x !== undefined && isNullValue(x)) return null;
    const integer = x !== undefined && INTEGER_TEXT.test(cell);
    if (this.type === 'float64') {
      if (x === undefined) throw this.misfit(i, cell, 'is not a number, which float64 needs');
      // An integer beyond 2^53 that float64 would round (1700000000000000001 becomes ...000).
      if (integer && !exactAsDouble(x, BigInt(cell.trim()))) throw this.misfit(i, cell, 'cannot be held exactly by float64, which would round it');
      return x;
    }
    if (!integer) throw this.misfit(i, cell, `is not an integer, which ${this.type} needs`);
    if (Number.isSafeInteger(x)) {
      if (this.type === 'uint64' && x < 0) throw this.misfit(i, cell, 'is negative, which uint64 cannot hold');
      return x;
    }
    const v = BigInt(cell.trim());
    if (this.type === 'int64' ? v < INT64_MIN || v > INT64_MAX : v < 0n || v > UINT64_MAX) throw this.misfit(i, cell, `is beyond ${this.type}`);
    return v;
  }

  /** Whether cell i is written in quotes. */
  private quoted(i: number): boolean {
    const k = ((this.rows.first + i) * this.rows.columns + this.column) * 2;
    return this.rows.spans[k + 1]! > this.rows.spans[k]! && this.rows.bytes[this.rows.spans[k]!] === 34;
  }

  /** A cell the column's type cannot hold: where, why, and the way out. */
  private misfit(i: number, cell: string, why: string): TsnormError {
    return misfitError(this.source, this.rows.lines[this.rows.first + i]!, this.name, cell, why, this.declared);
  }
}

/** A cell its column's type cannot hold (`why`), at its line and column, with the way out: --types COLUMN=utf8. */
export function misfitError(source: string, line: number, name: string, cell: string, why: string, declared: boolean): TsnormError {
  const origin = declared ? 'from --types' : 'from its first rows';
  return new TsnormError(
    `${source}: line ${line}, column '${name}': '${cellForMessage(cell)}' ${why} (the column's type, ${origin}); --types '${name}=utf8' keeps it as text`,
    'TSNORM_CSV',
  );
}

/** Cell `column` of row `r` of row text, unquoted (a byte string). */
export function rowCell(rows: RowText, r: number, column: number): string {
  const k = (r * rows.columns + column) * 2;
  const cell = latin1(rows.bytes, rows.spans[k]!, rows.spans[k + 1]!);
  return cell.length >= 2 && cell.charCodeAt(0) === 34 && cell.charCodeAt(cell.length - 1) === 34 ? cell.slice(1, -1).replace(/""/g, '"') : cell;
}
