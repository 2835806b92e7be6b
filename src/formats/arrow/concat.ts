import * as A from 'apache-arrow';

/**
 * The rows of several Data of one type as one Data, so that many small record batches can be
 * written as one (apache-arrow has no such function: its Vectors concatenate as chunks). Covers
 * the types a table's columns usually have: integers, floats, dates, times, timestamps, durations,
 * decimals, fixed-size binary, booleans, strings and binary (32- and 64-bit offsets), and lists,
 * maps and structs of any of these. Undefined for anything else (unions, views, large and
 * fixed-size lists): the caller writes the parts as they are.
 *
 * A Data's value buffers start at its first row (its `offset` is for the validity bits), and the
 * offsets of a sliced string or list column index the whole value buffer.
 */
export function concatData(parts: readonly A.Data[]): A.Data | undefined {
  const first = parts[0];
  if (first === undefined) return undefined;
  if (parts.length === 1) return first;
  const type = first.type as A.DataType;
  if (parts.some((p) => !A.util.compareTypes(p.type, type))) return undefined;
  const length = parts.reduce((n, p) => n + p.length, 0);
  const valid = validityOf(parts, length);
  const width = valuesPerRow(type);
  if (width !== undefined) {
    const Values = (first.values as Uint8Array).constructor as new (n: number) => Uint8Array;
    const values = new Values(length * width);
    let at = 0;
    for (const p of parts) {
      values.set((p.values as Uint8Array).subarray(0, p.length * width), at);
      at += p.length * width;
    }
    return A.makeData({ type, length, data: values, ...valid } as never);
  }
  if (A.DataType.isBool(type)) {
    const bits = new Uint8Array(Math.ceil(length / 8));
    let row = 0;
    for (const p of parts) {
      const v = A.makeVector(p);
      for (let i = 0; i < p.length; i++, row++) if (v.get(i) === true) bits[row >> 3]! |= 1 << (row & 7);
    }
    return A.makeData({ type, length, data: bits, ...valid } as never);
  }
  if (A.DataType.isUtf8(type) || A.DataType.isBinary(type) || A.DataType.isLargeUtf8(type) || A.DataType.isLargeBinary(type)) {
    const large = A.DataType.isLargeUtf8(type) || A.DataType.isLargeBinary(type);
    const offsets = large ? new BigInt64Array(length + 1) : new Int32Array(length + 1);
    const pieces: Uint8Array[] = [];
    let row = 0;
    let total = 0;
    for (const p of parts) {
      const o = p.valueOffsets as Int32Array | BigInt64Array;
      const start = Number(o[0]!);
      for (let i = 1; i <= p.length; i++) offsets[row + i] = large ? BigInt(total + Number(o[i]!) - start) : total + Number(o[i]!) - start;
      const end = Number(o[p.length]!);
      pieces.push((p.values as Uint8Array).subarray(start, end));
      total += end - start;
      row += p.length;
    }
    if (!large && total > 0x7fffffff) return undefined;
    return A.makeData({ type, length, valueOffsets: offsets, data: Buffer.concat(pieces), ...valid } as never);
  }
  if (A.DataType.isStruct(type)) {
    // A slice's children are sliced with it: child row i is the struct's row i.
    const children = type.children.map((_f, j) => concatData(parts.map((p) => p.children[j]!)));
    if (children.some((c) => c === undefined)) return undefined;
    return A.makeData({ type, length, children: children as A.Data[], ...valid } as never);
  }
  if (A.DataType.isList(type) || A.DataType.isMap(type)) {
    const offsets = new Int32Array(length + 1);
    const children: A.Data[] = [];
    let row = 0;
    let total = 0;
    for (const p of parts) {
      const o = p.valueOffsets as Int32Array;
      const start = o[0]!;
      for (let i = 1; i <= p.length; i++) offsets[row + i] = total + o[i]! - start;
      children.push(p.children[0]!.slice(start, o[p.length]! - start));
      total += o[p.length]! - start;
      row += p.length;
    }
    const child = concatData(children);
    if (child === undefined) return undefined;
    return A.makeData({ type, length, valueOffsets: offsets, child, ...valid } as never);
  }
  return undefined;
}

/** Elements of the value buffer per row, for the types whose rows are fixed-width values. */
function valuesPerRow(type: A.DataType): number | undefined {
  if (
    A.DataType.isInt(type) ||
    A.DataType.isFloat(type) ||
    A.DataType.isDate(type) ||
    A.DataType.isTime(type) ||
    A.DataType.isTimestamp(type) ||
    A.DataType.isDuration(type)
  )
    return 1;
  if (A.DataType.isDecimal(type)) return type.bitWidth / 32;
  if (A.DataType.isFixedSizeBinary(type)) return type.byteWidth;
  return undefined;
}

/** The parts' validity bits as one bitmap (none when no row is null). */
function validityOf(parts: readonly A.Data[], length: number): { nullBitmap?: Uint8Array; nullCount?: number } {
  if (parts.every((p) => p.nullCount === 0)) return {};
  const bitmap = new Uint8Array(Math.ceil(length / 8));
  let row = 0;
  let nulls = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++, row++) {
      if (p.getValid(i)) bitmap[row >> 3]! |= 1 << (row & 7);
      else nulls++;
    }
  }
  return { nullBitmap: bitmap, nullCount: nulls };
}
