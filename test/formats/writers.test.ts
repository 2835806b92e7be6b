import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CsvWriter } from '../../src/formats/csv/writer.js';
import { NpyWriter } from '../../src/formats/npy/writer.js';
import type { DataBlock, Schema } from '../../src/formats/types.js';
import type { ByteSink } from '../../src/io/byte-sink.js';

// The CSV and NPY writers on their own (the Arrow writer has arrow-writer.test.ts): blocks in,
// bytes out, read back by an independent reader (csv-parse; NPY's header and little-endian
// doubles read here by hand), every value where it was.

/** A sink in memory, with positional writes (NPY patches its header at the end). */
class MemorySink implements ByteSink {
  readonly name = 'memory';
  private bytes = new Uint8Array(0);
  private end = 0;
  async write(data: Uint8Array): Promise<void> {
    await this.writeAt(data, this.end);
  }
  async writeAt(data: Uint8Array, position: number): Promise<void> {
    const need = position + data.length;
    if (need > this.bytes.length) {
      const grown = new Uint8Array(Math.max(need, this.bytes.length * 2));
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(data, position);
    this.end = Math.max(this.end, need);
  }
  async commit(): Promise<void> {}
  async abort(): Promise<void> {}
  get written(): Uint8Array {
    return this.bytes.slice(0, this.end);
  }
}

const rowsSchema: Schema = {
  columns: [
    { name: 'a', type: 'float64', role: 'channel' },
    { name: 'b', type: 'float64', role: 'channel' },
  ],
  channels: 2,
  channelNames: ['a', 'b'],
  unbatched: true,
  valueType: 'float64',
  orientation: 'rows',
};

const rowsBlock = (values: number[], firstStep: number): DataBlock => ({
  instance: 0,
  values: Float64Array.from(values),
  offset: 0,
  channelStride: 1,
  stepStride: 2,
  firstChannel: 0,
  channelCount: 2,
  firstStep,
  stepCount: values.length / 2,
});

describe('CsvWriter', () => {
  it('writes the header and each row, every value the double it was', async () => {
    const sink = new MemorySink();
    const writer = new CsvWriter(sink, { delimiter: ',', threads: 1 });
    await writer.start(rowsSchema);
    const values = [1.5, -0.1, 1e-300, 2 ** 60, Math.PI, -0];
    await writer.write([rowsBlock(values.slice(0, 4), 0)]);
    await writer.write([rowsBlock(values.slice(4), 2)]);
    await writer.finish();
    const records = parse(Buffer.from(sink.written)) as string[][];
    expect(records[0]).toEqual(['a', 'b']);
    expect(records.slice(1).flat()).toHaveLength(values.length);
    expect(
      records
        .slice(1)
        .flat()
        .every((t, i) => Object.is(Number(t), values[i])),
    ).toBe(true);
  });

  it('writes another delimiter, and no header when told', async () => {
    const sink = new MemorySink();
    const writer = new CsvWriter(sink, { delimiter: '\t', header: false, threads: 1 });
    await writer.start(rowsSchema);
    await writer.write([rowsBlock([1, 2, 3, 4], 0)]);
    await writer.finish();
    expect(parse(Buffer.from(sink.written), { delimiter: '\t' })).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
  });
});

describe('NpyWriter', () => {
  it('writes an (N, C, L) float64 array: its header says so, its values in C order', async () => {
    const schema: Schema = { columns: [], channels: 2, unbatched: false, valueType: 'float64', orientation: 'series', instances: 2, steps: 3 };
    const sink = new MemorySink();
    const writer = new NpyWriter(sink, 'float64');
    await writer.start(schema);
    // Instance i, channel c, step t holds 100 i + 10 c + t, written a whole instance a block.
    for (let i = 0; i < 2; i++) {
      const values = Float64Array.from({ length: 6 }, (_, k) => 100 * i + 10 * Math.floor(k / 3) + (k % 3));
      await writer.write([
        { instance: i, values, offset: 0, channelStride: 3, stepStride: 1, firstChannel: 0, channelCount: 2, firstStep: 0, stepCount: 3, instanceSteps: 3 },
      ]);
    }
    await writer.finish();
    const bytes = Buffer.from(sink.written);
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    const headerLength = bytes.readUInt16LE(8);
    const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
    expect(header).toMatch(/'descr': '<f8'/);
    expect(header).toMatch(/'fortran_order': False/);
    expect(header).toMatch(/'shape': \(2, 2, 3\)/);
    expect((10 + headerLength) % 64).toBe(0);
    const data = bytes.subarray(10 + headerLength);
    const got = Array.from({ length: data.length / 8 }, (_, k) => data.readDoubleLE(8 * k));
    expect(got).toEqual([0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]);
  });
});
