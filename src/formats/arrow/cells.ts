import * as A from 'apache-arrow';
import { TsnormError } from '../../errors.js';
import { float32Text, numberText } from '../number-text.js';
import type { CellValue, ColumnSpec, ElementType, ListShape, PassColumn, TimeUnit } from '../types.js';

/** How the schema names an Arrow type. */
export function describeType(t: A.DataType): Omit<ColumnSpec, 'name' | 'role'> {
  if (A.DataType.isDictionary(t)) return describeType(t.dictionary);
  if (A.DataType.isFloat(t)) return { type: t.precision === A.Precision.HALF ? 'float16' : t.precision === A.Precision.SINGLE ? 'float32' : 'float64' };
  if (A.DataType.isInt(t)) return { type: `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}` as ElementType };
  if (A.DataType.isBool(t)) return { type: 'bool' };
  if (A.DataType.isUtf8(t) || A.DataType.isLargeUtf8(t) || A.DataType.isUtf8View(t)) return { type: 'utf8' };
  if (A.DataType.isTimestamp(t)) return { type: 'timestamp', unit: UNITS[t.unit], timezone: t.timezone ?? undefined };
  if (A.DataType.isDate(t)) return { type: 'date' };
  const list = listShape(t);
  if (list) {
    const child = describeType((t as A.List).children[0]!.type as A.DataType);
    return { type: 'list', element: child.type, list, ...(child.list ? { innerList: child.list } : {}) };
  }
  return { type: 'other' };
}

/** The kind of list `t` is, if it is one. */
export function listShape(t: A.DataType): ListShape | undefined {
  if (A.DataType.isList(t)) return { kind: 'list' };
  if (t.typeId === A.Type.LargeList) return { kind: 'large_list' };
  if (A.DataType.isFixedSizeList(t)) return { kind: 'fixed_size_list', size: t.listSize };
  return undefined;
}

const UNITS: Record<number, TimeUnit> = {
  [A.TimeUnit.SECOND]: 's',
  [A.TimeUnit.MILLISECOND]: 'ms',
  [A.TimeUnit.MICROSECOND]: 'us',
  [A.TimeUnit.NANOSECOND]: 'ns',
};

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
  // Element by element as cells (a timestamp in its own unit, not the getter's milliseconds).
  if (x instanceof A.Vector) return Array.from({ length: x.length }, (_, j) => cellOf(x, j));
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

/**
 * A timestamp as pyarrow's CSV writer writes it, to its unit's precision: without a zone as civil
 * time (`2023-11-14 22:13:20.123`); in UTC with `Z`; in any other zone as the local time there and
 * the zone's offset at that instant (`2023-11-14 17:13:20.123-0500`). A zone the time zone
 * database does not know is written as UTC, with `Z`: the instant, unambiguous.
 */
export function timestampText(value: number | bigint, unit: TimeUnit, timezone?: string): string {
  const v = BigInt(value);
  const per = PER_SECOND[unit];
  let seconds = v / per;
  let frac = v % per;
  if (frac < 0n) {
    frac += per;
    seconds -= 1n;
  }
  let suffix = '';
  if (timezone !== undefined) {
    // UTC, and a zone the database does not know, are written as the instant with Z.
    const offset = timezone === 'UTC' ? undefined : zoneOffset(timezone, Number(seconds));
    if (offset === undefined) {
      suffix = 'Z';
    } else {
      seconds += BigInt(offset);
      const minutes = Math.trunc(Math.abs(offset) / 60);
      suffix = `${offset < 0 ? '-' : '+'}${String(Math.floor(minutes / 60)).padStart(2, '0')}${String(minutes % 60).padStart(2, '0')}`;
    }
  }
  const days = seconds >= 0n ? seconds / 86400n : -((-seconds + 86399n) / 86400n);
  const inDay = Number(seconds - days * 86400n);
  const pad = (x: number) => String(x).padStart(2, '0');
  const base = `${civilDate(Number(days))} ${pad(Math.floor(inDay / 3600))}:${pad(Math.floor(inDay / 60) % 60)}:${pad(inDay % 60)}`;
  const digits = unit === 's' ? '' : `.${frac.toString().padStart(per.toString().length - 1, '0')}`;
  return `${base}${digits}${suffix}`;
}

/** Per zone: its offset formatter (null: a zone Intl does not know), and the last minute looked up. */
const zones = new Map<string, { format: Intl.DateTimeFormat | null; minute: number; offset: number | undefined }>();

/**
 * The zone's offset from UTC in seconds at an instant (seconds since the epoch), from the time zone
 * database (Intl): `+05:30` and `-0800` as written; undefined for a zone it does not know. Offsets
 * change at most once in a minute: when the offsets at a minute's two ends agree, the minute's
 * other instants reuse it.
 */
function zoneOffset(zone: string, seconds: number): number | undefined {
  const fixed = /^([+-])(\d\d):?(\d\d)$/.exec(zone);
  if (fixed) return (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 3600 + Number(fixed[3]) * 60);
  let z = zones.get(zone);
  if (!z) {
    let format: Intl.DateTimeFormat | null = null;
    try {
      format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    } catch {
      // RangeError: not a zone the database has.
    }
    z = { format, minute: NaN, offset: undefined };
    zones.set(zone, z);
  }
  if (!z.format) return undefined;
  const minute = Math.floor(seconds / 60);
  if (minute === z.minute) return z.offset;
  const at = (s: number): number => offsetAt(z.format!, s);
  const start = at(minute * 60);
  if (start === at(minute * 60 + 59)) {
    z.minute = minute;
    z.offset = start;
    return start;
  }
  return at(seconds);
}

/** The offset Intl names (`GMT-05:00`, `GMT+05:21:10`, `GMT`) at an instant, in seconds; Date's range bounds the instant. */
function offsetAt(format: Intl.DateTimeFormat, seconds: number): number {
  const ms = Math.min(Math.max(seconds * 1000, -8.64e15), 8.64e15);
  const name = format.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT([+-])(\d\d):(\d\d)(?::(\d\d))?$/.exec(name);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0));
}

/**
 * Days since 1970-01-01 as YYYY-MM-DD in the proleptic Gregorian calendar, for any day an Arrow
 * date or timestamp holds (JavaScript's Date stops at 275,760 years); years beyond 9999 in full,
 * as pyarrow writes them, before year 1 with a minus sign. (H. Hinnant's civil_from_days.)
 */
export function civilDate(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const year = y < 0 ? `-${String(-y).padStart(4, '0')}` : String(y).padStart(4, '0');
  return `${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/**
 * The text of a value of the types whose getter gives no value to print as it is, written as
 * pyarrow's CSV writer writes them: decimals as decimals (`1.50`), dates as `2020-01-01`, times
 * as `01:01:01.001` (to their unit's digits), float32 as the shortest text that reads back as the
 * same float32, infinities as `inf` and `-inf`, NaN as `nan`, binary as hexadecimal (pyarrow
 * refuses binary that is not UTF-8). Undefined for every other type.
 */
export function typedText(t: A.DataType, get: () => unknown): string | undefined {
  if (A.DataType.isDecimal(t)) return decimalText(get() as Uint32Array, t.scale);
  if (A.DataType.isDate(t)) return civilDate(dateDays(t, get));
  if (A.DataType.isTime(t)) return timeText(BigInt(get() as number | bigint), TIME_DIGITS[t.unit]!);
  if (A.DataType.isFloat(t)) {
    // Infinities and NaN as pyarrow (and numpy) write them; tsnorm reads both spellings.
    const x = get() as number;
    if (x === Infinity || x === -Infinity) return x > 0 ? 'inf' : '-inf';
    if (x !== x) return 'nan';
    if (t.precision === A.Precision.SINGLE) return float32Text(x);
    return undefined;
  }
  if (A.DataType.isBinary(t) || A.DataType.isLargeBinary(t) || A.DataType.isFixedSizeBinary(t)) return Buffer.from(get() as Uint8Array).toString('hex');
  return undefined;
}

const TIME_DIGITS: Record<number, number> = { [A.TimeUnit.SECOND]: 0, [A.TimeUnit.MILLISECOND]: 3, [A.TimeUnit.MICROSECOND]: 6, [A.TimeUnit.NANOSECOND]: 9 };

/** A decimal's little-endian two's-complement words (32 bits each) as text with `scale` digits after the point. */
export function decimalText(words: ArrayLike<number>, scale: number): string {
  let v = 0n;
  for (let k = words.length - 1; k >= 0; k--) v = (v << 32n) | BigInt(words[k]! >>> 0);
  const bits = BigInt(words.length * 32);
  if (v >> (bits - 1n)) v -= 1n << bits;
  const negative = v < 0n;
  const digits = (negative ? -v : v).toString();
  if (scale === 0) return `${negative ? '-' : ''}${digits}`;
  // A negative scale: scientific notation, as Python's Decimal (and so pyarrow) writes it (1.23E+4, 0E+2).
  if (scale < 0) return `${negative ? '-' : ''}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}E+${digits.length - 1 - scale}`;
  const padded = digits.padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

/** A date's days since the epoch (date64 holds milliseconds: whole days of them). */
function dateDays(t: A.Date_, get: () => unknown): number {
  const v = get() as number | bigint | Date;
  const ms = v instanceof Date ? v.getTime() : Number(v);
  if (Number.isFinite(ms)) return Math.floor(ms / 86400000);
  throw new TsnormError(`an Arrow ${String(t)} value is beyond what this reader decodes`, 'TSNORM_ARROW');
}

/** A time of day in units of 10^-digits s as HH:MM:SS[.fraction]; a value outside a day as its integer. */
export function timeText(units: bigint, digits: number): string {
  const per = 10n ** BigInt(digits);
  if (units < 0n || units >= 86400n * per) return units.toString();
  const seconds = units / per;
  const pad = (x: bigint) => x.toString().padStart(2, '0');
  const hms = `${pad(seconds / 3600n)}:${pad((seconds / 60n) % 60n)}:${pad(seconds % 60n)}`;
  return digits === 0 ? hms : `${hms}.${(units % per).toString().padStart(digits, '0')}`;
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
    if (!this.vector.isValid(i)) return '';
    const t = this.vector.type as A.DataType;
    const typed = A.DataType.isDictionary(t) ? t.dictionary : t;
    const own = typedText(typed, () => this.vector.get(i));
    if (own !== undefined) return own;
    const v = this.value(i);
    if (v === null) return '';
    if (this.spec.type === 'timestamp' && (typeof v === 'number' || typeof v === 'bigint')) return timestampText(v, this.spec.unit ?? 'ms', this.spec.timezone);
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
    if (typeof v === 'number') return numberText(v);
    return String(v);
  }

  elements(i: number): PassColumn | undefined {
    const list = this.vector.isValid(i) ? (this.vector.get(i) as A.Vector | null) : null;
    const element = (this.vector.type as A.DataType).children?.[0]?.type as A.DataType | undefined;
    return list && element ? new ArrowPassColumn(list, describeType(element)) : undefined;
  }
}
