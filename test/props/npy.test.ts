/**
 * Properties of the NPY header parser and reader: any bytes give a valid result or a clear error
 * (NpyHeaderError from the parser, TsnormError from the reader), never another exception and
 * never a hang; headers and data written by the rules decode to exactly what they say.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_HEADER_BYTES, NpyHeaderError, formatHeader, parseHeader } from '../../src/formats/npy/header.js';
import { NpyReader } from '../../src/formats/npy/reader.js';
import { FIXTURES } from '../helpers/cli.js';
import { cleanly, concat, drain, hostileBytes, memorySource, pipeSource, settings, timeoutFor } from './support.js';

/** Valid NPY files of the fixtures (small ones: each run copies its base). */
const NPY_FILES: Uint8Array[] = [
  path.join(FIXTURES, 'example.npy'),
  ...fs.readdirSync(path.join(FIXTURES, 'cases')).map((c) => path.join(FIXTURES, 'cases', c, 'input.npy')),
  ...fs
    .readdirSync(path.join(FIXTURES, 'bad'))
    .filter((f) => f.endsWith('.npy'))
    .map((f) => path.join(FIXTURES, 'bad', f)),
]
  .filter((f) => fs.existsSync(f) && fs.statSync(f).size <= 16 << 10)
  .map((f) => new Uint8Array(fs.readFileSync(f)));

/** parseHeader's answer: the header, or the NpyHeaderError message; anything else is thrown on. */
function parsed(bytes: Uint8Array): ReturnType<typeof parseHeader> | string {
  try {
    return parseHeader(bytes);
  } catch (err) {
    if (err instanceof NpyHeaderError) return err.message;
    throw err;
  }
}

describe('NPY header parser on hostile bytes', () => {
  it(
    'returns a consistent header or throws NpyHeaderError',
    () => {
      fc.assert(
        fc.property(hostileBytes(NPY_FILES, 512), (bytes) => {
          const h = parsed(bytes);
          if (typeof h === 'string') {
            expect(h.length).toBeGreaterThan(0);
            // Bounded: a message quotes at most a short piece of the header (escaped).
            expect(h.length).toBeLessThan(1000);
            return;
          }
          expect([1, 2, 3]).toContain(h.version);
          expect(typeof h.descr).toBe('string');
          expect(typeof h.fortranOrder).toBe('boolean');
          for (const d of h.shape) expect(Number.isSafeInteger(d) && d >= 0).toBe(true);
          expect(h.dataOffset).toBeLessThanOrEqual(bytes.length);
          expect(h.dataOffset).toBeLessThanOrEqual(MAX_HEADER_BYTES);
          expect(h.dataOffset).toBeGreaterThanOrEqual(h.version === 1 ? 10 : 12);
        }),
        settings(),
      );
    },
    timeoutFor(2),
  );
});

// ---------------------------------------------------------------------------------------------
// Header dicts made from a model: what a correct parser must answer is known for each.

/** A Python literal, rendered, and whether it is what the header's key needs. */
interface Literal {
  readonly text: string;
  readonly ok: boolean;
  readonly value?: unknown;
}

const space = fc.constantFrom('', ' ', '  ', '\t', '\n ');
const quote = fc.constantFrom("'", '"');

const DESCRS = ['<f4', '<f8', '>f8', '|u1', '<i8', '|b1', '<f2', '<c8', '|O', '<U3', '<M8[ns]', 'f4', '', 'float32'];
// Valid literals most of the time, so that about a third of the dicts are valid as a whole.
const descrLiteral: fc.Arbitrary<Literal> = fc.oneof(
  {
    arbitrary: fc
      .tuple(
        quote,
        fc.oneof(
          fc.constantFrom(...DESCRS),
          fc.string({ unit: 'binary-ascii', maxLength: 8 }).filter((s) => !/['"]/.test(s)),
        ),
      )
      .map(([q, s]) => ({ text: `${q}${s}${q}`, ok: true, value: s })),
    weight: 5,
  },
  {
    arbitrary: fc.constantFrom<Literal>(
      { text: '3', ok: false },
      { text: 'None', ok: false },
      { text: "[('a', '<f4')]", ok: false },
      { text: 'True', ok: false },
    ),
    weight: 1,
  },
);

const fortranLiteral: fc.Arbitrary<Literal> = fc.oneof(
  { arbitrary: fc.constantFrom<Literal>({ text: 'True', ok: true, value: true }, { text: 'False', ok: true, value: false }), weight: 5 },
  {
    arbitrary: fc.constantFrom<Literal>(
      { text: '0', ok: false },
      { text: "'False'", ok: false },
      { text: 'None', ok: false },
      { text: 'Maybe', ok: false },
      { text: 'true', ok: false },
    ),
    weight: 1,
  },
);

/** A dimension: a safe integer >= 0 is fine; negative, past 2^53 or not an integer is not. */
const dimension: fc.Arbitrary<Literal> = fc.oneof(
  { arbitrary: fc.nat(1000).map((d) => ({ text: String(d), ok: true, value: d })), weight: 6 },
  { arbitrary: fc.constantFrom(2 ** 53 - 1, 2 ** 40).map((d) => ({ text: String(d), ok: true, value: d })), weight: 1 },
  { arbitrary: fc.nat(1000).map((d) => ({ text: `${d}L`, ok: true, value: d })), weight: 1 },
  { arbitrary: fc.integer({ min: -1000, max: -1 }).map((d) => ({ text: String(d), ok: false })), weight: 1 },
  { arbitrary: fc.bigInt({ min: 2n ** 53n, max: 2n ** 70n }).map((d) => ({ text: String(d), ok: false })), weight: 1 },
  {
    arbitrary: fc.constantFrom<Literal>(
      { text: '2.0', ok: false },
      { text: "'3'", ok: false },
      { text: 'None', ok: false },
      { text: '(2,)', ok: false },
      { text: 'True', ok: false },
    ),
    weight: 1,
  },
);

const shapeLiteral: fc.Arbitrary<Literal> = fc.oneof(
  {
    arbitrary: fc.tuple(fc.array(dimension, { maxLength: 4 }), fc.boolean(), space).map(([dims, trailing, s]) => {
      // (5,) needs its comma; otherwise a trailing comma is optional.
      const inner = dims.map((d) => d.text).join(`,${s}`) + (dims.length === 1 || (trailing && dims.length > 0) ? ',' : '');
      return { text: `(${inner})`, ok: dims.every((d) => d.ok), value: dims.map((d) => d.value) };
    }),
    weight: 5,
  },
  {
    arbitrary: fc.constantFrom<Literal>(
      { text: '5', ok: false },
      { text: "'(2, 3)'", ok: false },
      { text: 'None', ok: false },
      { text: '((2, 3),)', ok: false },
    ),
    weight: 1,
  },
);

interface HeaderModel {
  readonly dict: string;
  /** The header a correct parser returns, or undefined when it must refuse the dict. */
  readonly expected?: { descr: string; fortranOrder: boolean; shape: number[] };
  /** A key numpy does not write: refusing the dict and reading it are both fine. */
  readonly either: boolean;
  readonly version: 1 | 2 | 3;
  readonly padding: string;
}

const KEYS = ['descr', 'fortran_order', 'shape'] as const;

const headerModel: fc.Arbitrary<HeaderModel> = fc
  .record({
    descr: fc.option(descrLiteral, { freq: 8 }),
    fortran: fc.option(fortranLiteral, { freq: 8 }),
    shape: fc.option(shapeLiteral, { freq: 8 }),
    order: fc.shuffledSubarray([0, 1, 2], { minLength: 3, maxLength: 3 }),
    extra: fc.option(fc.constantFrom("'extra': 1", "'descr2': '<f4'"), { freq: 10 }),
    keyQuote: quote,
    gap: space,
    trailingComma: fc.boolean(),
    after: fc.oneof({ arbitrary: fc.constant(''), weight: 6 }, { arbitrary: fc.constantFrom('x', '}', '{}', ', 1', '#'), weight: 1 }),
    version: fc.constantFrom<1 | 2 | 3>(1, 2, 3),
    padding: fc.constantFrom(' \n', '\n', '', '    \n', '\t\n', ' \f\r\n'),
  })
  .map((m): HeaderModel => {
    const literals = [m.descr, m.fortran, m.shape];
    const entries = m.order.flatMap((k) => {
      const lit = literals[k];
      return lit ? [`${m.keyQuote}${KEYS[k]}${m.keyQuote}:${m.gap}${lit.text}`] : [];
    });
    if (m.extra) entries.push(m.extra);
    const dict = `{${entries.join(`,${m.gap}`)}${m.trailingComma && entries.length > 0 ? ',' : ''}${m.gap}}${m.after}`;
    const valid = m.descr?.ok === true && m.fortran?.ok === true && m.shape?.ok === true && m.after === '';
    return {
      dict,
      version: m.version,
      padding: m.padding,
      either: m.extra !== null,
      ...(valid ? { expected: { descr: m.descr!.value as string, fortranOrder: m.fortran!.value as boolean, shape: m.shape!.value as number[] } } : {}),
    };
  });

function headerBytes(model: HeaderModel): Uint8Array {
  const pre = model.version === 1 ? 10 : 12;
  const body = Buffer.from(model.dict + model.padding, model.version === 3 ? 'utf8' : 'latin1');
  const out = Buffer.alloc(pre + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, model.version, 0]);
  if (model.version === 1) out.writeUInt16LE(body.length, 8);
  else out.writeUInt32LE(body.length, 8);
  out.set(body, pre);
  return out;
}

describe('NPY header dicts built from a model', () => {
  it(
    'are read exactly when valid, refused with NpyHeaderError otherwise',
    () => {
      fc.assert(
        fc.property(headerModel, (model) => {
          const h = parsed(headerBytes(model));
          if (model.either && typeof h === 'string') return;
          if (model.expected === undefined) {
            expect(typeof h, `accepted ${JSON.stringify(model.dict)}`).toBe('string');
            return;
          }
          expect(h, `refused ${JSON.stringify(model.dict)}`).not.toBeTypeOf('string');
          const header = h as Exclude<typeof h, string>;
          expect({ descr: header.descr, fortranOrder: header.fortranOrder, shape: [...header.shape] }).toEqual(model.expected);
          expect(header.version).toBe(model.version);
        }),
        settings(),
      );
    },
    timeoutFor(1),
  );

  it(
    'formatHeader writes what parseHeader reads back',
    () => {
      const descr = fc.constantFrom('<f4', '<f8', '>i2', '|u1', '|b1', '<f2');
      const shape = fc.array(fc.oneof(fc.nat(10), fc.nat(2 ** 53 - 1)), { maxLength: 4 });
      fc.assert(
        fc.property(descr, shape, fc.nat(300), (d, s, minLength) => {
          const bytes = formatHeader(d, s, minLength);
          const h = parseHeader(bytes);
          expect(h.descr).toBe(d);
          expect([...h.shape]).toEqual(s);
          expect(h.fortranOrder).toBe(false);
          expect(h.dataOffset).toBe(bytes.length);
          // numpy aligns the data to 64 bytes (unless asked for a longer header).
          if (minLength === 0) expect(bytes.length % 64).toBe(0);
        }),
        settings(),
      );
    },
    timeoutFor(1),
  );
});

// ---------------------------------------------------------------------------------------------
// The reader on hostile bytes, from a file or a pipe, under any budget.

const budget = fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 64 }));
const cuts = fc.array(fc.nat(4096), { maxLength: 6 });

describe('NPY reader on hostile bytes', () => {
  it(
    'reads every value the shape declares, or fails with a TsnormError',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileBytes(NPY_FILES, 1024), fc.boolean(), cuts, budget, async (bytes, seekable, at, b) => {
          const src = seekable ? memorySource(bytes, 'prop.npy') : pipeSource(bytes, at, '<stdin>');
          const r = await cleanly(async () => {
            const reader = await NpyReader.open(src, { budget: b });
            const { channels, instances = 0, steps = 0 } = reader.schema;
            const d = await drain(reader);
            return { expected: channels * instances * steps, got: d.values };
          });
          if (r.ok) expect(r.value.got).toBe(r.value.expected);
          await src.close();
        }),
        settings(),
      );
    },
    timeoutFor(6),
  );
});

// ---------------------------------------------------------------------------------------------
// Valid NPY files of every dtype, order and version: values as an independent decoder reads them.

const DTYPES = ['f2', 'f4', 'f8', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'b1'] as const;

/** Element i of raw data of this dtype, as float64 (numpy's reading, rounded to float64). */
function decodeOne(view: DataView, i: number, kind: (typeof DTYPES)[number], little: boolean): number {
  const size = Number(kind.slice(1));
  const at = i * size;
  switch (kind) {
    case 'f2': {
      const h = view.getUint16(at, little);
      const sign = h >> 15 ? -1 : 1;
      const exp = (h >> 10) & 31;
      const frac = h & 1023;
      if (exp === 31) return frac ? NaN : sign * Infinity;
      return exp === 0 ? sign * frac * 2 ** -24 : sign * (1024 + frac) * 2 ** (exp - 25);
    }
    case 'f4':
      return view.getFloat32(at, little);
    case 'f8':
      return view.getFloat64(at, little);
    case 'i1':
      return view.getInt8(at);
    case 'i2':
      return view.getInt16(at, little);
    case 'i4':
      return view.getInt32(at, little);
    case 'i8':
      return Number(view.getBigInt64(at, little));
    case 'u1':
      return view.getUint8(at);
    case 'u2':
      return view.getUint16(at, little);
    case 'u4':
      return view.getUint32(at, little);
    case 'u8':
      return Number(view.getBigUint64(at, little));
    case 'b1':
      return view.getUint8(at) === 0 ? 0 : 1;
  }
}

const validNpy = fc
  .record({
    kind: fc.constantFrom(...DTYPES),
    order: fc.constantFrom('<', '>', '='),
    fortran: fc.boolean(),
    shape: fc.oneof(
      fc.tuple(fc.nat(4), fc.nat(4), fc.nat(12)).map((s) => [...s]),
      fc.tuple(fc.nat(4), fc.nat(12)).map((s) => [...s]),
    ),
    version: fc.constantFrom<1 | 2 | 3>(1, 2, 3),
    seed: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    /** Bytes added (+) or cut (-) at the end: an error unless 0. */
    delta: fc.oneof({ arbitrary: fc.constant(0), weight: 5 }, { arbitrary: fc.integer({ min: -9, max: 9 }), weight: 1 }),
  })
  .map((m) => {
    const size = Number(m.kind.slice(1));
    const count = m.shape.reduce((a, b) => a * b, 1);
    const data = new Uint8Array(count * size);
    // Data bytes from the seed (a cheap generator: every byte pattern, NaNs and infinities included).
    for (let i = 0; i < data.length; i++) data[i] = m.seed[i % 64]! ^ ((i * 151) >> 3);
    const descr = `${size === 1 ? '|' : m.order}${m.kind}`;
    const dict = `{'descr': '${descr}', 'fortran_order': ${m.fortran ? 'True' : 'False'}, 'shape': (${m.shape.join(', ')}${m.shape.length === 1 ? ',' : ''}), }`;
    const header = headerBytes({ dict, version: m.version, either: false, padding: ' '.repeat(15 - ((dict.length + 12) % 16)) + '\n' });
    const body = m.delta >= 0 ? concat(data, new Uint8Array(m.delta)) : data.subarray(0, Math.max(0, data.length + m.delta));
    return { ...m, data, bytes: concat(header, body), truncatedOrLong: body.length !== data.length };
  });

/** The values in C order (instance, channel, step), decoded from the raw data by the model. */
function expectedValues(m: { kind: (typeof DTYPES)[number]; order: string; fortran: boolean; shape: number[]; data: Uint8Array }): number[] {
  const [n, c, l] = m.shape.length === 3 ? (m.shape as [number, number, number]) : [1, m.shape[0]!, m.shape[1]!];
  const view = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const little = m.order !== '>';
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let t = 0; t < l; t++) {
        // Fortran order: the first axis varies fastest.
        const flat = !m.fortran ? (i * c + ch) * l + t : m.shape.length === 3 ? i + n * (ch + c * t) : ch + c * t;
        out.push(decodeOne(view, flat, m.kind, little));
      }
    }
  }
  return out;
}

describe('NPY reader on valid files of every dtype', () => {
  it(
    'gives the values an independent decoder reads, for any budget, from a file or a pipe',
    async () => {
      await fc.assert(
        fc.asyncProperty(validNpy, fc.boolean(), cuts, budget, async (m, seekable, at, b) => {
          const src = seekable ? memorySource(m.bytes, 'prop.npy') : pipeSource(m.bytes, at, '<stdin>');
          const r = await cleanly(async () => drain(await NpyReader.open(src, { budget: b }), true));
          await src.close();
          if (m.truncatedOrLong) {
            expect(r.ok, 'a file of the wrong length was accepted').toBe(false);
            return;
          }
          if (!r.ok) throw new Error(`refused a valid file: ${r.error.message}`);
          const [n, c, l] = m.shape.length === 3 ? m.shape : [1, ...m.shape];
          const got: number[] = [];
          for (let i = 0; i < n!; i++) for (let ch = 0; ch < c!; ch++) got.push(...(r.value.series?.[i]?.[ch] ?? []));
          const want = n! * c! * l! === 0 ? [] : expectedValues(m);
          expect(got.length).toBe(want.length);
          // Same numbers, NaN for NaN (Object.is would tell NaN payloads apart, which float64 keeps).
          for (let k = 0; k < want.length; k++) {
            if (!(Object.is(got[k], want[k]) || (Number.isNaN(got[k]) && Number.isNaN(want[k])))) {
              throw new Error(`value ${k}: got ${got[k]}, want ${want[k]}`);
            }
          }
        }),
        settings(),
      );
    },
    timeoutFor(8),
  );
});
