/**
 * concatData: a column cut into slices at random rows (apache-arrow's own slices, with their
 * offsets) and joined again is the column it was: the same type, every value and every null. The
 * reference is the column before the cuts, read through apache-arrow.
 */
import * as A from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatData } from '../../src/formats/arrow/concat.js';
import { RUNS, settings } from '../props/support.js';

const int = (bits: number, signed: boolean): fc.Arbitrary<bigint> =>
  signed ? fc.bigInt({ min: -(1n << BigInt(bits - 1)), max: (1n << BigInt(bits - 1)) - 1n }) : fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });

interface Kind {
  type: () => A.DataType;
  value: fc.Arbitrary<unknown>;
}

const KINDS: Record<string, Kind> = {
  int8: { type: () => new A.Int8(), value: int(8, true).map(Number) },
  int64: { type: () => new A.Int64(), value: int(64, true) },
  uint64: { type: () => new A.Uint64(), value: int(64, false) },
  float32: { type: () => new A.Float32(), value: fc.double().map(Math.fround) },
  float64: { type: () => new A.Float64(), value: fc.double() },
  dateDay: { type: () => new A.DateDay(), value: fc.integer({ min: -1e6, max: 1e6 }).map((d) => d * 86400000) },
  dateMillisecond: { type: () => new A.DateMillisecond(), value: fc.integer({ min: -1e12, max: 1e12 }) },
  timestampNs: { type: () => new A.TimestampNanosecond('UTC'), value: fc.integer({ min: -1e12, max: 1e12 }) },
  timestampS: { type: () => new A.TimestampSecond(), value: fc.integer({ min: -1e9, max: 1e9 }).map((s) => s * 1000) },
  time32: { type: () => new A.TimeMillisecond(), value: fc.integer({ min: 0, max: 86399999 }) },
  duration: { type: () => new A.DurationNanosecond(), value: int(64, true) },
  bool: { type: () => new A.Bool(), value: fc.boolean() },
  utf8: { type: () => new A.Utf8(), value: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  largeUtf8: { type: () => new A.LargeUtf8(), value: fc.string({ maxLength: 6 }) },
  binary: { type: () => new A.Binary(), value: fc.uint8Array({ maxLength: 5 }) },
  listInt: { type: () => new A.List(new A.Field('item', new A.Int32(), true)), value: fc.array(fc.option(fc.integer()), { maxLength: 4 }) },
  struct: {
    type: () => new A.Struct([new A.Field('a', new A.Int32(), true), new A.Field('b', new A.Utf8(), true)]),
    value: fc.record({ a: fc.option(fc.integer()), b: fc.option(fc.string({ maxLength: 3 })) }),
  },
  map: {
    type: () =>
      new A.Map_(
        new A.Field('entries', new A.Struct([new A.Field('key', new A.Utf8(), false), new A.Field('value', new A.Int32(), true)] as A.Field[]), false) as never,
      ),
    value: fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), fc.option(fc.integer()), { maxKeys: 3 }).map((o) => new Map(Object.entries(o))),
  },
  listText: { type: () => new A.List(new A.Field('item', new A.Utf8(), true)), value: fc.array(fc.option(fc.string({ maxLength: 3 })), { maxLength: 3 }) },
};

/** Row i of a vector as comparable JSON: bigints and typed arrays spelled out. */
function rows(v: A.Vector): string[] {
  const plain = (x: unknown): unknown =>
    typeof x === 'bigint'
      ? `${x}n`
      : x instanceof A.Vector
        ? Array.from(x.toArray() as ArrayLike<unknown>, plain)
        : ArrayBuffer.isView(x)
          ? Array.from(x as unknown as ArrayLike<unknown>, plain)
          : Number.isNaN(x)
            ? 'NaN'
            : Object.is(x, -0)
              ? '-0'
              : x;
  return Array.from({ length: v.length }, (_, i) => JSON.stringify(v.isValid(i) ? plain(v.get(i)) : null));
}

describe('concatData', () => {
  it('joins slices of a column into the column', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...Object.keys(KINDS))
          .chain((name) => fc.tuple(fc.constant(name), fc.array(fc.option(KINDS[name]!.value, { freq: 4 }), { minLength: 1, maxLength: 40 }))),
        fc.array(fc.nat(40), { maxLength: 6 }),
        ([name, values], cuts) => {
          const whole = A.vectorFromArray(values as never[], KINDS[name]!.type());
          const at = [...new Set([0, ...cuts.map((c) => c % whole.length), whole.length])].sort((a, b) => a - b);
          const parts = at.slice(1).map((end, k) => whole.slice(at[k]!, end).data[0]!);
          const joined = concatData(parts);
          expect(joined, name).toBeDefined();
          const got = A.makeVector(joined!);
          expect(String(got.type)).toBe(String(whole.type));
          expect(got.length).toBe(whole.length);
          expect(rows(got)).toEqual(rows(whole));
        },
      ),
      settings(Math.max(200, RUNS)),
    );
  });

  it('declines the types it does not join', () => {
    const large = A.vectorFromArray([[1], [2]], new A.LargeList(new A.Field('item', new A.Int32(), true)));
    expect(concatData([large.slice(0, 1).data[0]!, large.slice(1).data[0]!])).toBeUndefined();
  });
});
