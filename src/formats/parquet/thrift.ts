import { TsnormError } from '../../errors.js';

/**
 * Thrift's compact protocol, as Parquet's footer and page headers are written in it: a struct is
 * read into a map of field id to value (nested structs as maps, lists as arrays, binary as
 * bytes), with no schema; the caller picks the fields it knows by their ids.
 */
export type ThriftValue = number | bigint | boolean | Uint8Array | ThriftStruct | ThriftValue[];
export type ThriftStruct = Map<number, ThriftValue>;

export class ThriftReader {
  pos: number;
  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    private readonly what = 'Parquet metadata',
  ) {
    this.pos = start;
  }

  private byte(): number {
    if (this.pos >= this.bytes.length) throw new ThriftEnd(this.what);
    return this.bytes[this.pos++]!;
  }

  private varint(): bigint {
    let shift = 0n;
    let out = 0n;
    for (;;) {
      const b = this.byte();
      out |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return out;
      shift += 7n;
      if (shift > 70n) throw new TsnormError(`corrupt ${this.what}: a varint runs on`, 'TSNORM_PARQUET');
    }
  }

  /** A small varint as a number (lengths, counts, field deltas). */
  private uvarint(): number {
    let shift = 0;
    let out = 0;
    for (;;) {
      const b = this.byte();
      out += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return out;
      shift += 7;
      if (shift > 49) throw new TsnormError(`corrupt ${this.what}: a varint runs on`, 'TSNORM_PARQUET');
    }
  }

  private zigzag(): bigint {
    const v = this.varint();
    return (v >> 1n) ^ -(v & 1n);
  }

  private value(type: number): ThriftValue {
    switch (type) {
      case 1:
        return true;
      case 2:
        return false;
      case 3:
        return (this.byte() << 24) >> 24;
      case 4:
      case 5: {
        const v = this.zigzag();
        return Number(v);
      }
      case 6:
        return this.zigzag();
      case 7: {
        if (this.pos + 8 > this.bytes.length) throw new ThriftEnd(this.what);
        const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8).getFloat64(0, true);
        this.pos += 8;
        return v;
      }
      case 8: {
        const n = this.uvarint();
        if (this.pos + n > this.bytes.length) throw new ThriftEnd(this.what);
        const v = this.bytes.subarray(this.pos, this.pos + n);
        this.pos += n;
        return v;
      }
      case 9:
      case 10: {
        const head = this.byte();
        let n = head >> 4;
        const elem = head & 0x0f;
        if (n === 15) n = this.uvarint();
        const out: ThriftValue[] = [];
        // Booleans in a list are a byte each.
        for (let i = 0; i < n; i++) out.push(elem === 1 || elem === 2 ? this.byte() === 1 : this.value(elem));
        return out;
      }
      case 11:
        throw new TsnormError(`${this.what}: a Thrift map, which Parquet's metadata does not use`, 'TSNORM_PARQUET');
      case 12:
        return this.struct();
      default:
        throw new TsnormError(`corrupt ${this.what}: Thrift type ${type}`, 'TSNORM_PARQUET');
    }
  }

  struct(): ThriftStruct {
    const out: ThriftStruct = new Map();
    let id = 0;
    for (;;) {
      const head = this.byte();
      if (head === 0) return out;
      const type = head & 0x0f;
      const delta = head >> 4;
      id = delta === 0 ? Number(this.zigzag()) : id + delta;
      out.set(id, this.value(type));
    }
  }
}

/** The bytes ended inside a struct: a page header read from too short a window says so. */
export class ThriftEnd extends TsnormError {
  constructor(what: string) {
    super(`truncated ${what}`, 'TSNORM_PARQUET');
  }
}

export const num = (s: ThriftStruct, id: number): number | undefined => {
  const v = s.get(id);
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : undefined;
};
export const str = (s: ThriftStruct, id: number): string | undefined => {
  const v = s.get(id);
  return v instanceof Uint8Array ? new TextDecoder().decode(v) : undefined;
};
export const sub = (s: ThriftStruct, id: number): ThriftStruct | undefined => {
  const v = s.get(id);
  return v instanceof Map ? v : undefined;
};
export const list = (s: ThriftStruct, id: number): ThriftValue[] => {
  const v = s.get(id);
  return Array.isArray(v) ? v : [];
};
