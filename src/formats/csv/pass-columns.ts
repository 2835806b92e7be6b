import { TsnormError } from '../../errors.js';
import type { CellValue, ElementType, PassColumn, RowText } from '../types.js';
import { cellForMessage, shownText } from './byte-text.js';
import { latin1, parseNumber } from './numbers.js';
import { type RecordBatch, cellText } from './records.js';

const INTEGER = /^\s*[+-]?\d+\s*$/;

/**
 * The type of a pass-through column, from the first rows read: integers (a numeric timestamp)
 * are int64, other numbers float64, anything else text. Missing cells say nothing.
 */
export function inferColumnType(sample: RecordBatch | null, column: number): ElementType {
  let type: ElementType | undefined;
  for (let r = 0; sample && r < sample.count; r++) {
    const text = cellText(sample, r, column);
    const x = parseNumber(text);
    if (x === undefined) return 'utf8';
    if (x !== x) continue; // missing
    const cell: ElementType = INTEGER.test(text) && Number.isSafeInteger(x) ? 'int64' : 'float64';
    type = type === 'float64' || cell === 'float64' ? 'float64' : 'int64';
  }
  return type ?? 'utf8';
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
    if (this.type === 'utf8') return cell === '' ? null : shownText(cell);
    const x = parseNumber(cell);
    if (x !== x) return null;
    if (x === undefined || (this.type === 'int64' && !INTEGER.test(cell))) {
      const line = this.rows.lines[this.rows.first + i];
      throw new TsnormError(`${this.source}: line ${line}, column '${this.name}': '${cellForMessage(cell)}' is not ${this.type === 'int64' ? 'an integer' : 'a number'}, as the column's first rows were (a typed output holds it as ${this.type})`);
    }
    return this.type === 'int64' && !Number.isSafeInteger(x) ? BigInt(cell.trim()) : x;
  }
}

/** Cell `column` of row `r` of row text, unquoted (a byte string). */
export function rowCell(rows: RowText, r: number, column: number): string {
  const k = (r * rows.columns + column) * 2;
  const cell = latin1(rows.bytes, rows.spans[k]!, rows.spans[k + 1]!);
  return cell.length >= 2 && cell.charCodeAt(0) === 34 && cell.charCodeAt(cell.length - 1) === 34 ? cell.slice(1, -1).replace(/""/g, '"') : cell;
}
