/**
 * Arrow values as text, at the edges: dates of any day an Arrow date holds (JavaScript's Date
 * stops at 275,760 years), decimals with a negative scale, times outside a day. References:
 * JavaScript's Date where it reaches, and the strings pyarrow.csv.write_csv writes.
 */
import { describe, expect, it } from 'vitest';
import { civilDate, decimalText, timeText, timestampText } from '../../src/formats/arrow/cells.js';
import { random } from '../helpers/random.js';

const words = (v: bigint, n = 4): number[] => Array.from({ length: n }, (_, k) => Number(BigInt.asUintN(32, v >> BigInt(32 * k))));

describe('civilDate', () => {
  it('agrees with Date for every day of years 0000-9999 (sampled) and their ends', () => {
    const r = random(5);
    const first = -719528; // 0000-01-01
    const last = 2932896; // 9999-12-31
    const days = [first, last, -1, 0, 1, 11016, 59, 60, ...Array.from({ length: 20000 }, () => first + Math.floor(r() * (last - first)))];
    for (const d of days) expect(civilDate(d)).toBe(new Date(d * 86400000).toISOString().slice(0, 10));
  });

  it('writes years beyond 9999 in full, as pyarrow does, and any int32 day without failing', () => {
    expect(civilDate(2932897)).toBe('10000-01-01');
    expect(civilDate(-719163)).toBe('0000-12-31');
    expect(civilDate(2 ** 31 - 1)).toMatch(/^5\d{6}-\d\d-\d\d$/);
    expect(civilDate(-(2 ** 31))).toMatch(/^-5\d{6}-\d\d-\d\d$/);
  });
});

describe('timestampText', () => {
  // pyarrow writes each zone's text for the fixture (fixtures/types); here what it cannot reach.
  it('reaches past the years JavaScript dates reach', () => {
    // One second after 9999-12-31 23:59:59, pyarrow's last second of year 9999 (253402300799).
    expect(timestampText(253402300800, 's')).toBe('10000-01-01 00:00:00');
    expect(timestampText(2n ** 62n, 's')).toMatch(/^\d+-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(timestampText(2n ** 62n, 's', 'America/New_York')).toMatch(/^\d+-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4}$/);
  });

  it('writes a zone the database does not know as UTC, with Z', () => {
    expect(timestampText(-1, 'ms', 'Mars/Olympus_Mons')).toBe(timestampText(-1, 'ms', 'UTC'));
    expect(timestampText(-1, 'ms', 'UTC')).toBe(`${timestampText(-1, 'ms')}Z`);
  });
});

describe('decimalText', () => {
  it('writes a negative scale in scientific notation, as pyarrow does', () => {
    expect(decimalText(words(0n), -2)).toBe('0E+2');
    expect(decimalText(words(123n), -2)).toBe('1.23E+4');
    expect(decimalText(words(-5n), -2)).toBe('-5E+2');
  });

  it('writes scales 0 and above as plain decimals, 128 and 256 bits', () => {
    expect(decimalText(words(150n), 2)).toBe('1.50');
    expect(decimalText(words(-120n), 2)).toBe('-1.20');
    expect(decimalText(words(-1n), 3)).toBe('-0.001');
    expect(decimalText(words(-(10n ** 40n), 8), 0)).toBe(`-1${'0'.repeat(40)}`);
  });
});

describe('timeText', () => {
  it('writes a time of day, and a value outside a day as its integer', () => {
    expect(timeText(3661001n, 3)).toBe('01:01:01.001');
    expect(timeText(-1n, 0)).toBe('-1');
    expect(timeText(86400n, 0)).toBe('86400');
    expect(timeText(86399999999999n, 9)).toBe('23:59:59.999999999');
  });
});
