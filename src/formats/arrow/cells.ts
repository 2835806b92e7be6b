import * as A from 'apache-arrow';
import type { CellValue, ColumnSpec, ElementType, PassColumn, TimeUnit } from '../types.js';

/** How the schema names an Arrow type. */
export function describeType(t: A.DataType): Omit<ColumnSpec, 'name' | 'role'> {
  if (A.DataType.isDictionary(t)) return describeType(t.dictionary);
  if (A.DataType.isFloat(t)) return { type: t.precision === A.Precision.HALF ? 'float16' : t.precision === A.Precision.SINGLE ? 'float32' : 'float64' };
  if (A.DataType.isInt(t)) return { type: `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}` as ElementType };
  if (A.DataType.isBool(t)) return { type: 'bool' };
  if (A.DataType.isUtf8(t) || A.DataType.isLargeUtf8(t) || A.DataType.isUtf8View(t)) return { type: 'utf8' };
  if (A.DataType.isTimestamp(t)) return { type: 'timestamp', unit: UNITS[t.unit], timezone: t.timezone ?? undefined };
  if (A.DataType.isDate(t)) return { type: 'date' };
  if (A.DataType.isList(t) || A.DataType.isFixedSizeList(t) || t.typeId === A.Type.LargeList) {
    const child = (t as A.List).children[0]!.type as A.DataType;
    return { type: 'list', element: describeType(child).type };
  }
  return { type: 'other' };
}

const UNITS: Record<number, TimeUnit> = { [A.TimeUnit.SECOND]: 's', [A.TimeUnit.MILLISECOND]: 'ms', [A.TimeUnit.MICROSECOND]: 'us', [A.TimeUnit.NANOSECOND]: 'ns' };

export function isNumericType(t: A.DataType): boolean {
  return A.DataType.isFloat(t) || A.DataType.isInt(t);
}

/** A typed cell of a vector: numbers, bigints (64-bit integers), strings, lists as arrays; timestamps as integers in their unit. */
export function cellOf(v: A.Vector, i: number): CellValue {
  if (!v.isValid(i)) return null;
  const t = v.type as A.DataType;
  if (A.DataType.isTimestamp(t)) return timestampValue(v, i);
  return toCell(v.get(i));
}

function toCell(x: unknown): CellValue {
  if (x === null || x === undefined) return null;
  if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'string' || typeof x === 'boolean') return x;
  if (x instanceof Date) return x.getTime();
  if (x instanceof A.Vector) return Array.from(x as Iterable<unknown>, toCell);
  if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>);
  if (typeof x === 'object' && 'toJSON' in x && typeof x.toJSON === 'function') return JSON.stringify(x.toJSON());
  return String(x);
}

/** The integer a timestamp holds, in its own unit (the getter gives rounded milliseconds). */
function timestampValue(v: A.Vector, i: number): CellValue {
  // Find the chunk and the row in it.
  let k = i;
  for (const d of v.data) {
    if (k < d.length) {
      // Sliced Data have sliced value buffers: row k is at k (`offset` is for the validity bits).
      const raw = (d.values as BigInt64Array | Int32Array)[k]!;
      return typeof raw === 'bigint' && Number.isSafeInteger(Number(raw)) ? Number(raw) : raw;
    }
    k -= d.length;
  }
  return null;
}

const PER_SECOND: Record<TimeUnit, bigint> = { s: 1n, ms: 1000n, us: 1000000n, ns: 1000000000n };

/** A timestamp as ISO 8601 text, to its unit's precision (UTC unless the column has a zone). */
export function timestampText(value: number | bigint, unit: TimeUnit): string {
  const v = BigInt(value);
  const per = PER_SECOND[unit];
  let seconds = v / per;
  let frac = v % per;
  if (frac < 0n) {
    frac += per;
    seconds -= 1n;
  }
  const base = new Date(Number(seconds) * 1000).toISOString().replace('.000Z', '');
  const digits = unit === 's' ? '' : `.${frac.toString().padStart(per.toString().length - 1, '0')}`;
  return `${base}${digits}Z`;
}

/** A pass-through column over an Arrow vector (a slice of a record batch's column). */
export class ArrowPassColumn implements PassColumn {
  constructor(
    readonly vector: A.Vector,
    private readonly spec: Omit<ColumnSpec, 'name' | 'role'>,
  ) {}

  get length(): number {
    return this.vector.length;
  }

  value(i: number): CellValue {
    return cellOf(this.vector, i);
  }

  text(i: number): string {
    const v = this.value(i);
    if (v === null) return '';
    if (this.spec.type === 'timestamp' && (typeof v === 'number' || typeof v === 'bigint')) return timestampText(v, this.spec.unit ?? 'ms');
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
    return String(v);
  }
}
