import * as A from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { ByteSink } from '../../src/io/byte-sink.js';
import { ArrowWriter } from '../../src/formats/arrow/writer.js';
import type { DataBlock, Schema } from '../../src/formats/types.js';

/**
 * A sink whose writev completes late and reads the parts only then, as the kernel reads the
 * memory of a write running in the thread pool: what the caller changed meanwhile is written.
 */
class LateSink implements ByteSink {
  readonly name = 'late.arrows';
  private readonly done: Uint8Array[] = [];
  /** Writes completed so far. */
  completed = 0;

  async write(data: Uint8Array): Promise<void> {
    return this.writev([data]);
  }

  writev(parts: readonly Uint8Array[]): Promise<void> {
    return new Promise((resolve) =>
      setTimeout(() => {
        this.done.push(Buffer.concat(parts));
        this.completed++;
        resolve();
      }, 20),
    );
  }

  async commit(): Promise<void> {}
  async abort(): Promise<void> {}

  get bytes(): Uint8Array {
    return Buffer.concat(this.done);
  }
}

const schema: Schema = {
  columns: [{ name: 'x', type: 'float64', role: 'channel' }],
  channels: 1,
  channelNames: ['x'],
  unbatched: true,
  valueType: 'float64',
  orientation: 'rows',
};

const block = (values: Float64Array, firstStep: number): DataBlock => ({
  instance: 0,
  values,
  offset: 0,
  channelStride: values.length,
  stepStride: 1,
  firstChannel: 0,
  channelCount: 1,
  firstStep,
  stepCount: values.length,
});

describe('ArrowWriter and the writer contract (arrays reused once the next write resolves)', () => {
  it('the next write waits for the last writev: arrays the caller then refills were written first', async () => {
    const sink = new LateSink();
    const writer = new ArrowWriter(sink, { stream: true, layout: 'long' });
    await writer.start(schema);
    const [x, y] = [Float64Array.of(1, 2, 3), Float64Array.of(4, 5)];
    await writer.write([block(x, 0)]);
    // The write goes on while the caller computes the next batch.
    expect(sink.completed).toBe(0);
    await writer.write([block(y, 3)]);
    // The contract lets the caller reuse x now: its bytes must be written already.
    expect(sink.completed).toBe(1);
    x.fill(-1);
    // write([]) is how a caller waits before it refills arrays it handed over last.
    await writer.write([]);
    expect(sink.completed).toBe(2);
    y.fill(-1);
    await writer.finish();
    const table = A.tableFromIPC(sink.bytes);
    expect(Array.from(table.getChild('x')!.toArray() as Float64Array)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('ArrowWriter and values a column cannot hold', () => {
  it('refuses an integer beyond int64 or uint64, naming the output and the column, rather than wrap it', async () => {
    for (const [type, bad] of [
      ['int64', 2n ** 63n],
      ['int64', -(2n ** 63n) - 1n],
      ['uint64', 2n ** 64n],
      ['uint64', -1n],
    ] as const) {
      const typed: Schema = {
        ...schema,
        columns: [{ name: 'ts', type, role: 'pass' }, ...schema.columns],
      };
      const writer = new ArrowWriter(new LateSink(), { stream: true, layout: 'long' });
      await writer.start(typed);
      const cells = [1n, bad];
      const pass = { length: 2, value: (i: number) => cells[i]!, text: (i: number) => String(cells[i]) };
      await expect(writer.write([{ ...block(Float64Array.of(1, 2), 0), pass: [pass] }])).rejects.toThrow(
        `late.arrows: column 'ts': ${bad} does not fit ${type}`,
      );
    }
  });
});
