import { describe, expect, it } from 'vitest';
import type { DataBlock, SeriesWriter, WriterNeeds } from '../../src/formats/types.js';
import { cells, rows, schema, series } from './support.js';
import { Reshaper } from '../../src/pipeline/reshape.js';

// Reshaper on its own: blocks of one orientation in, the writer's orientation out, every value at
// its (instance, channel, step); blocks the writer takes as they are go straight through.

/** A writer that keeps copies of what it is given (the Reshaper reuses nothing it hands over, but the caller may). */
function recorder(needs: WriterNeeds): SeriesWriter & { got: DataBlock[] } {
  const got: DataBlock[] = [];
  return {
    name: 'out.test',
    needs,
    valueType: 'float64',
    got,
    async start() {},
    async write(blocks) {
      for (const b of blocks) got.push({ ...b, values: b.values.slice() });
    },
    async finish() {},
    async abort() {},
  };
}

describe('Reshaper', () => {
  it('rows to a series writer: each instance re-blocked whole, every value where it was', async () => {
    const writer = recorder({ orientation: 'series', wholeInstances: true, passThrough: false });
    const r = new Reshaper(writer, schema('rows', 3), 1 << 20);
    const input = [rows(0, 0, 2, 3), rows(0, 2, 3, 3), rows(1, 0, 4, 3)];
    for (const b of input) await r.write([b]);
    await r.finish();
    const blocks = writer.got.filter((b) => b.stepCount > 0);
    expect(blocks.map((b) => [b.instance, b.channelCount, b.stepCount, b.channelStride, b.stepStride])).toEqual([
      [0, 3, 5, 5, 1],
      [1, 3, 4, 4, 1],
    ]);
    expect(cells(blocks)).toEqual(cells(input));
  });

  it('series to a rows writer: rows of every channel, every value where it was', async () => {
    const writer = recorder({ orientation: 'rows', wholeInstances: false, passThrough: false });
    const r = new Reshaper(writer, schema('series', 2, 5), 1 << 20);
    const input = [series(0, 0, 2, 0, 5, 5), series(1, 0, 2, 0, 5, 5)];
    for (const b of input) await r.write([b]);
    await r.finish();
    const blocks = writer.got.filter((b) => b.stepCount > 0);
    expect(blocks.every((b) => b.channelStride === 1 && b.stepStride === 2)).toBe(true);
    expect(cells(blocks)).toEqual(cells(input));
  });

  it("blocks in the writer's orientation go through as they are", async () => {
    const writer = recorder({ orientation: 'rows', wholeInstances: false, passThrough: false, doneOnWrite: true });
    const r = new Reshaper(writer, schema('rows', 2), 1 << 20);
    const b = rows(0, 0, 3, 2);
    expect(await r.write([b])).toBe(true);
    expect(writer.got).toEqual([b]);
  });

  it('an instance larger than may be held is spilled, and comes back the same (a series writer per channel)', async () => {
    const writer = recorder({ orientation: 'series', wholeInstances: false, passThrough: false });
    const r = new Reshaper(writer, schema('rows', 2), 64);
    const input = [rows(0, 0, 6, 2), rows(0, 6, 6, 2)];
    for (const b of input) await r.write([b]);
    await r.finish();
    const blocks = writer.got.filter((b) => b.stepCount > 0);
    expect(blocks.map((b) => [b.firstChannel, b.channelCount, b.stepCount])).toEqual([
      [0, 1, 12],
      [1, 1, 12],
    ]);
    expect(cells(blocks)).toEqual(cells(input));
  });
});
