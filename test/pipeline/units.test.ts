import { describe, expect, it } from 'vitest';
import type { DataBlock, Schema, SeriesReader } from '../../src/formats/types.js';
import { cells, rows, schema, series } from './support.js';
import { UnitAssembler } from '../../src/pipeline/units.js';
import { TsnormError } from '../../src/errors.js';

// UnitAssembler on its own: blocks in, units out (an instance of rows, a run of series), held,
// spilled or re-read, and what comes back from a unit is what went in.

const reader = (s: Schema, rereadable = false, again?: DataBlock[]): SeriesReader => ({
  name: 'in.test',
  schema: s,
  reusesBuffers: false,
  rereadable,
  async *blocks() {},
  async *reread() {
    yield* again ?? [];
  },
  locate: () => ({}),
  async close() {},
});

async function replayed(u: { replay(): AsyncIterable<DataBlock> }): Promise<DataBlock[]> {
  const out: DataBlock[] = [];
  for await (const b of u.replay()) out.push(b);
  return out;
}

describe('UnitAssembler', () => {
  it('rows: an instance is a unit when the next begins, its blocks as they came', async () => {
    const a = new UnitAssembler(reader(schema('rows', 2)), 1 << 20);
    const input = [rows(0, 0, 3, 2), rows(0, 3, 2, 2), rows(1, 0, 4, 2)];
    const units = [];
    for (const b of input) {
      units.push(...a.before(b));
      units.push(...a.accept(b));
    }
    units.push(...a.finish());
    expect(units.map((u) => [u.instance, u.steps, u.endsInstance, u.streamed])).toEqual([
      [0, 5, true, false],
      [1, 4, true, false],
    ]);
    expect(cells((await Promise.all(units.map(replayed))).flat())).toEqual(cells(input));
  });

  it('rows beyond what may be held go to a spill file and come back from it, the same values; release removes it', async () => {
    const a = new UnitAssembler(reader(schema('rows', 3)), 64);
    const input = [rows(0, 0, 5, 3), rows(0, 5, 5, 3), rows(0, 10, 1, 3)];
    for (const b of input) a.accept(b);
    const [unit] = a.finish();
    expect(unit!.streamed).toBe(true);
    expect(cells(await replayed(unit!))).toEqual(cells(input));
    await unit!.release();
    await a.close();
  });

  it('series: a whole series is a unit by itself; pieces of one make a unit when complete', async () => {
    const a = new UnitAssembler(reader(schema('series', 2, 4)), 1 << 20);
    const whole = series(0, 0, 2, 0, 4, 4);
    expect(a.accept(whole).map((u) => [u.instance, u.firstChannel, u.channelCount, u.endsInstance])).toEqual([[0, 0, 2, true]]);
    const pieces = [series(1, 0, 1, 0, 3, 4), series(1, 0, 1, 3, 1, 4)];
    expect(a.accept(pieces[0]!)).toEqual([]);
    const [unit] = a.accept(pieces[1]!);
    expect([unit!.instance, unit!.firstChannel, unit!.channelCount, unit!.steps, unit!.endsInstance]).toEqual([1, 0, 1, 4, false]);
    expect(cells(await replayed(unit!))).toEqual(cells(pieces));
  });

  it('series too large to hold are re-read from a seekable input, not spilled', async () => {
    const again = [series(0, 0, 1, 0, 8, 8)];
    const a = new UnitAssembler(reader(schema('series', 1, 8), true, again), 16);
    expect(a.accept(series(0, 0, 1, 0, 4, 8))).toEqual([]);
    const [unit] = a.accept(series(0, 0, 1, 4, 4, 8));
    expect(unit!.streamed).toBe(true);
    expect(await replayed(unit!)).toEqual(again);
  });

  it('refuses a series block out of order, and an input that ends within a series', () => {
    const a = new UnitAssembler(reader(schema('series', 1, 4)), 1 << 20);
    a.accept(series(0, 0, 1, 0, 2, 4));
    expect(() => a.accept(series(0, 0, 1, 3, 1, 4))).toThrow('in.test: series block out of order (instance 0, channel 0, step 3)');
    const b = new UnitAssembler(reader(schema('series', 1, 4)), 1 << 20);
    b.accept(series(0, 0, 1, 0, 2, 4));
    let thrown: unknown;
    try {
      b.finish();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TsnormError);
    expect((thrown as TsnormError).message).toBe('in.test: the input ends within a series of instance 0');
    expect((thrown as TsnormError).code).toBe('TSNORM_DATA');
  });
});
