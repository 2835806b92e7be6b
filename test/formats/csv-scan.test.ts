import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDecimalAt, parseNumber } from '../../src/formats/csv/numbers.js';
import { RecordSplitter, cellText, readNumbers } from '../../src/formats/csv/records.js';
import { CsvScanner, SCAN_MAX_REGION } from '../../src/formats/csv/scan/scanner.js';
import { SCAN_WASM_BASE64 } from '../../src/formats/csv/scan/scan-wasm.js';
// @ts-expect-error: a plain .mjs build script without type declarations
import { compileScan } from '../../scripts/build-kernels.mjs';

// The WebAssembly scan kernel (scan.as.ts) splits text without quotes and reads plain decimals:
// it must agree with csv-parse on the records and cells, and with Number() on the numbers.

const bytes = (s: string) => Buffer.from(s, 'latin1');
const SETTINGS = { numRuns: Number(process.env.TSNORM_PROP_RUNS ?? 200), seed: 11 };

describe('the scan kernel', () => {
  it('is the compiled scan.as.ts (regenerate with npm run kernels)', async () => {
    expect(await compileScan()).toBe(SCAN_WASM_BASE64);
  });

  /** Records of `text` by RecordSplitter fed in `pieces`, as cells. */
  const split = (text: string, cuts: number[]): string[][] => {
    const s = new RecordSplitter('f', ',');
    const out: string[][] = [];
    const take = (b: ReturnType<RecordSplitter['push']>) => {
      for (let r = 0; r < b.count; r++) out.push(Array.from({ length: b.columns }, (_, i) => cellText(b, r, i)));
    };
    let from = 0;
    for (const cut of [...cuts.filter((c) => c < text.length).sort((a, b) => a - b), text.length]) {
      take(s.push(bytes(text.slice(from, cut))));
      from = cut;
    }
    take(s.finish());
    return out;
  };

  const cell = fc.stringMatching(/^[a-z0-9. \r-]{0,6}$/).filter((c) => !c.endsWith('\r'));
  it('splits plain text into the records and cells csv-parse finds, however it is cut', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.array(cell, { minLength: 5, maxLength: 5 }), { minLength: 1, maxLength: 30 }),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(2000)),
        fc.boolean(),
        (columns, rows, nl, cuts, blank) => {
          const lines = rows.map((r) => r.slice(0, columns).join(','));
          if (blank) lines.splice(lines.length >> 1, 0, '');
          const text = lines.join(nl) + (rows.length % 2 ? nl : '');
          const want = parse(text, { delimiter: ',', skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] }) as string[][];
          expect(split(text, cuts)).toEqual(want);
        },
      ),
      SETTINGS,
    );
  });

  it('refuses a ragged record with the line and cell counts the JavaScript splitter gives', () => {
    const text = 'a,b,c\n1,2,3\n\n4,5\n';
    expect(() => split(text, [])).toThrow(/^f: line 4: 2 cells, expected 3 \(as in the header\)$/);
    expect(() => split('a,b\n1,2\n3,4,5,6\n', [])).toThrow(/^f: line 3: 4 cells, expected 2 \(as in the header\)$/);
  });

  it('leaves a region larger than SCAN_MAX_REGION to the JavaScript splitter, with the same records', () => {
    const row = '12345,6789\n';
    const text = `a,b\n${row.repeat(Math.ceil(SCAN_MAX_REGION / row.length) + 10)}`;
    const s = new RecordSplitter('f', ',');
    const b = s.push(bytes(text));
    expect(b.scanner).toBeUndefined();
    expect(b.count).toBe(text.split('\n').length - 1);
    const small = new RecordSplitter('f', ',').push(bytes('a,b\n1,2\n'));
    expect(small.scanner).toBeInstanceOf(CsvScanner);
  });

  const decimal = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x)),
    fc
      .tuple(fc.integer({ min: -1e6, max: 1e6 }), fc.nat(99999999), fc.integer({ min: 0, max: 9 }))
      .map(([i, f, d]) => `${i}.${String(f).padStart(8, '0').slice(0, d)}`),
    fc.constantFrom(
      '',
      'NaN',
      'nan',
      'inf',
      '-inf',
      '+1.5',
      '.5',
      '5.',
      '1e',
      '0x10',
      '1e400',
      '12345678901234567',
      '-0',
      '00012.50',
      ' 1',
      'x',
      '.',
      '-',
      '1e+',
      '5e-3.5',
    ),
    // Around the kernel's limits: 2^53, 16 digits a side, 19 in all, and where a cell ends mid-vector.
    fc.constantFrom(
      '9007199254740992',
      '9007199254740993',
      '900719925474099.3',
      '0.0000000000000000001',
      '1234567890123456789',
      '12345678901234567890',
      '1234567890123456.5',
      '1.2345678901234567',
      '99999999',
      '123456789',
      '0.12345678',
      '12345678.1',
      '1e22',
      '1e-22',
      '1e23',
      '4.9e-324',
    ),
  );
  it('reads every number as Number() does, and hands what it declines to JavaScript', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(decimal, decimal), { minLength: 1, maxLength: 40 }), (rows) => {
        const text = `a,b\n${rows.map(([x, y]) => `${x},${y}`).join('\n')}\n`;
        const batch = new RecordSplitter('f', ',').push(bytes(text));
        expect(batch.scanner).toBeDefined();
        const out = new Float64Array(batch.count * 2);
        const declined: number[] = [];
        // Record 0 is the header: read columns 1 then 0 (the order is the caller's).
        readNumbers(batch, Int32Array.of(1, 0), out, (r, col) => {
          declined.push(r * 2 + (col === 1 ? 0 : 1));
          return parseNumber(cellText(batch, r, col)) ?? -12345;
        });
        for (let r = 1; r < batch.count; r++) {
          const [x, y] = rows[r - 1]!;
          for (const [k, text] of [
            [0, y],
            [1, x],
          ] as const) {
            const want = parseNumber(text) ?? -12345;
            expect(Object.is(out[r * 2 + k], want), `${text}: ${out[r * 2 + k]} vs ${want}`).toBe(true);
            // What the fast path of numbers.ts takes, the kernel takes too, when it has at most 16
            // digits each side of the point and 19 in all (the kernel counts digits, not significant ones).
            const [whole = '', fraction = ''] = text.replace(/^[+-]/, '').split(/[eE]/)[0]!.split('.');
            if (
              parseDecimalAt(bytes(text), 0, text.length) !== undefined &&
              whole.length <= 16 &&
              fraction.length <= 16 &&
              whole.length + fraction.length <= 19
            ) {
              expect(declined).not.toContain(r * 2 + k);
            }
          }
        }
      }),
      SETTINGS,
    );
  });
});
