import { channelStart } from '../core/block.js';
import type { CellValue, ColumnSpec, DataBlock, PassColumn, Schema } from '../formats/types.js';

/** The schema's columns that blocks carry data for, in order: not channels, not generated. */
export function carriedColumns(schema: Schema): ColumnSpec[] {
  return schema.columns.filter((c) => c.role !== 'channel' && c.generated === undefined);
}

/** Rough memory a block holds: its values, and its rows' text and pass-through cells. */
export function blockBytes(b: DataBlock): number {
  let bytes = b.channelCount * b.stepCount * 8;
  if (b.rows) {
    const { records, first, count } = b.rows;
    bytes += records[2 * (first + count) - 1]! - records[2 * first]! + count * (b.rows.columns * 8 + 16);
  }
  if (b.pass) bytes += b.pass.length * b.stepCount * 16;
  return bytes;
}

/**
 * The block with its values copied into an array of its own (packed, same orientation): for
 * holding it after the reader refills its buffers. Pass-through columns and text are immutable.
 */
export function ownedCopy(b: DataBlock): DataBlock {
  const rowsMajor = b.stepStride !== 1 || (b.channelStride === 1 && b.channelCount > 1);
  // In the values' own type: float32 input held as float64 took twice the memory (and garbage).
  const values = b.values instanceof Float32Array ? new Float32Array(b.channelCount * b.stepCount) : new Float64Array(b.channelCount * b.stepCount);
  for (let c = 0; c < b.channelCount; c++) {
    const from = channelStart(b, b.firstChannel + c);
    for (let t = 0; t < b.stepCount; t++) values[rowsMajor ? t * b.channelCount + c : c * b.stepCount + t] = b.values[from + t * b.stepStride]!;
  }
  return {
    ...b,
    values,
    offset: 0,
    channelStride: rowsMajor ? 1 : b.stepCount,
    stepStride: rowsMajor ? b.channelCount : 1,
  };
}

/** A pass-through column over an array of values (text made from the values). */
export class ArrayPassColumn implements PassColumn {
  constructor(private readonly values: readonly CellValue[]) {}

  get length(): number {
    return this.values.length;
  }

  value(i: number): CellValue {
    return this.values[i]!;
  }

  text(i: number): string {
    return cellText(this.values[i]!);
  }
}

/** A value repeated `length` times (an instance's value on each of its rows). */
export class RepeatedPassColumn implements PassColumn {
  constructor(
    private readonly single: CellValue,
    readonly length: number,
    /** Its text as its own format writes it, when known (see DataBlock.instanceColumns). */
    private readonly ownText?: string,
  ) {}

  value(): CellValue {
    return this.single;
  }

  text(): string {
    return this.ownText ?? cellText(this.single);
  }
}

/** A value as text formats write it: numbers as JavaScript prints them, lists as JSON. */
export function cellText(v: CellValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
}
