import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RYU_WASM_BASE64 } from '../../src/formats/csv/dtoa/ryu-wasm.js';
import { shortestModule } from '../../src/formats/csv/dtoa/shortest.js';
import { RowBytes } from '../../src/formats/csv/row-bytes.js';
import { xorshift32 } from '../helpers/random.js';
// @ts-expect-error: a plain .mjs build script without type declarations
import { compileRyu, ryuTables } from '../../scripts/build-kernels.mjs';

const DTOA_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/formats/csv/dtoa');

/** Formats with the WebAssembly module; the reference is JavaScript's own String(x). */
function shortestText(): (x: number) => string {
  const ryu = shortestModule();
  const at = ryu.heapStart();
  return (x) => {
    const end = ryu.writeShortest(x, at);
    return Buffer.from(new Uint8Array(ryu.memory.buffer, at, end - at)).toString('latin1');
  };
}

function mismatches(values: Iterable<number>): string[] {
  const fmt = shortestText();
  const bad: string[] = [];
  for (const x of values) {
    const want = x === x ? String(x) : '';
    const got = fmt(x);
    if (got !== want && bad.length < 10) bad.push(`${want} written as ${got}`);
  }
  return bad;
}

describe('shortest float64 text (Ryu in WebAssembly)', () => {
  it('is the compiled ryu.as.ts with the generated tables (regenerate with npm run kernels)', async () => {
    expect(ryuTables()).toBe(fs.readFileSync(path.join(DTOA_DIR, 'ryu-tables.as.ts'), 'utf8'));
    expect(await compileRyu()).toBe(RYU_WASM_BASE64);
  }, 60_000);

  it('writes special and boundary values as String(x) does', () => {
    const specials = [
      0,
      -0,
      1,
      -1,
      NaN,
      Infinity,
      -Infinity,
      0.1,
      0.2,
      0.3,
      1 / 3,
      2 / 3,
      100,
      4.35,
      0.000001,
      1e-7,
      1.5e-7,
      5e-324,
      -5e-324,
      Number.MIN_VALUE,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      Number.EPSILON,
      2.2250738585072014e-308,
      2.225073858507201e-308, // smallest normal, largest subnormal
      1e21,
      1e20,
      999999999999999900000,
      123456789012345680000,
      1.2345678901234568e21,
      9007199254740991,
      9007199254740992,
      9007199254740993,
      2 ** 63,
      2 ** 64,
      1e23,
      9.999999999999999e22,
    ];
    expect(mismatches(specials)).toEqual([]);
  });

  it('writes every power of two and of ten, and their neighbours, as String(x) does', () => {
    const xs: number[] = [];
    const f = new Float64Array(1);
    const u = new BigUint64Array(f.buffer);
    for (let e = -1074; e <= 1023; e++) {
      for (const x of [2 ** e, 3 * 2 ** e, Number(`1e${Math.round(e * 0.30103)}`), Number(`9.5e${Math.round(e * 0.30103)}`)]) {
        if (!Number.isFinite(x) || x === 0) continue;
        f[0] = x;
        const bits = u[0]!;
        for (const b of [bits - 1n, bits, bits + 1n]) {
          u[0] = b;
          xs.push(f[0]!, -f[0]!);
        }
      }
    }
    expect(mismatches(xs)).toEqual([]);
  });

  it('writes a million random doubles as String(x) does', () => {
    const next = xorshift32(20261126);
    const f = new Float64Array(1);
    const u = new Uint32Array(f.buffer);
    function* values(): Generator<number> {
      for (let i = 0; i < 250_000; i++) {
        u[0] = next();
        u[1] = next();
        yield f[0]!; // any bit pattern, subnormals and NaNs included
        const unit = next() / 2 ** 32;
        yield (unit - 0.5) * 8; // normalized data
        yield (unit - 0.5) * 10 ** ((next() % 60) - 30); // every layout: 0.00x, x.y, xe+N, xe-N
        yield Number(((next() / 2 ** 32) * 1000).toFixed(next() % 9)); // short decimals
      }
    }
    expect(mismatches(values())).toEqual([]);
  });
});

describe('RowBytes', () => {
  const taken = (out: RowBytes): Buffer => {
    const bytes = Buffer.from(out.view());
    out.clear();
    return bytes;
  };

  it('builds UTF-8 text and numbers, and starts again empty once cleared', () => {
    const out = new RowBytes();
    out.text('ä,€,');
    out.number(-0.1);
    out.text(',');
    out.number(NaN);
    out.text('x😀', 0, 3);
    expect(taken(out).toString('utf8')).toBe('ä,€,-0.1,x😀');
    expect(out.length).toBe(0);
    out.text('a,b', 1);
    expect(taken(out).toString('utf8')).toBe(',b');
  });

  it('writes a byte string (one character per byte) as those bytes, not as UTF-8', () => {
    const out = new RowBytes();
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2c, 0xff, 0x80]).toString('latin1');
    out.byteString(latin1);
    out.byteString('x,yz', 1, 3);
    expect([...taken(out)]).toEqual([0x63, 0x61, 0x66, 0xe9, 0x2c, 0xff, 0x80, 0x2c, 0x79]);
  });

  it('grows past its first memory page and keeps what it holds', () => {
    const out = new RowBytes();
    const expected: string[] = [];
    const next = xorshift32(7);
    for (let i = 0; i < 200_000; i++) {
      const x = (next() / 2 ** 32 - 0.5) * 1e3;
      out.number(x);
      out.text('\n');
      expected.push(String(x));
    }
    const long = 'é'.repeat(100_000);
    out.text(long);
    expect(taken(out).toString('utf8')).toBe(expected.join('\n') + '\n' + long);
  });

  it('writes -0 as "-0", so that it reads back with its sign (String(-0) is "0")', () => {
    for (const out of [new RowBytes(), new RowBytes((x) => (x === x ? String(Number(x.toPrecision(3))) : ''))]) {
      out.number(-0);
      out.text(',');
      out.number(0);
      const text = taken(out).toString();
      expect(text).toBe('-0,0');
      expect(Object.is(Number(text.split(',')[0]), -0)).toBe(true);
    }
  });

  it('uses the given formatter instead of the shortest text', () => {
    const out = new RowBytes((x) => (x === x ? x.toPrecision(3) : ''));
    out.number(Math.PI);
    out.text(';');
    out.number(NaN);
    expect(taken(out).toString()).toBe('3.14;');
  });
});
