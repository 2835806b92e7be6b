import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StreamSource } from '../../src/io/byte-source.js';
import { MeteredSource, ReadMeter } from '../../src/io/read-meter.js';

/** A seekable source of `size` zero bytes that serves at most `chunk` bytes a read. */
function seekable(size: number, chunk: number) {
  return {
    name: 'mem',
    size,
    seekable: true,
    read: async (_buf: Uint8Array, _offset: number, length: number, position: number) => Math.max(0, Math.min(length, chunk, size - position)),
    peek: async (n: number) => new Uint8Array(Math.min(n, size)),
    close: async () => undefined,
  };
}

describe('ReadMeter', () => {
  it('counts the furthest byte reached: a second pass over an instance does not count twice', async () => {
    const meter = new ReadMeter();
    const src = new MeteredSource(seekable(1000, 100), meter);
    expect([meter.name, meter.size, meter.done, meter.inputs]).toEqual(['mem', 1000, 0, 1]);
    const buf = new Uint8Array(400);
    await src.read(buf, 0, 400, 0);
    expect(meter.done).toBe(100);
    await src.read(buf, 0, 400, 300);
    expect(meter.done).toBe(400);
    await src.read(buf, 0, 400, 0); // re-read from the start
    expect(meter.done).toBe(400);
    await src.peek(900); // sniffing reads nothing for good
    expect(meter.done).toBe(400);
    await src.read(buf, 0, 400, 950);
    expect(meter.done).toBe(1000);
  });

  it('counts the bytes of a stream as they come; a new input starts again from 0', async () => {
    const meter = new ReadMeter();
    const src = new MeteredSource(new StreamSource('<stdin>', Readable.from([Buffer.alloc(300), Buffer.alloc(200)])), meter);
    expect(meter.size).toBeUndefined();
    const buf = new Uint8Array(1000);
    let total = 0;
    for (let n: number; (n = await src.read(buf, 0, buf.length, 0)) > 0; ) total += n;
    expect(total).toBe(500);
    expect(meter.done).toBe(500);
    new MeteredSource(seekable(10, 10), meter);
    expect([meter.inputs, meter.done, meter.size]).toEqual([2, 0, 10]);
  });
});
