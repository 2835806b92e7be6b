import * as A from 'apache-arrow';
import { Message } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { RecordBatch } from 'apache-arrow/fb/record-batch';
import { ByteBuffer } from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { openArrowFile } from '../../src/formats/arrow/file.js';
import type { NumberedBatch } from '../../src/formats/arrow/small-batches.js';
import { ArrowMessages } from '../../src/formats/arrow/stream.js';
import { memorySource, pipeSource } from '../props/support.js';

// Small record batches gathered into one: every value, null and type as apache-arrow's own
// reader decodes the same bytes, in files and streams, batch by batch or cut anywhere.

const rows = 700;
const pick = <T>(i: number, v: T): T | null => (i % 5 === 3 ? null : v);
const table = new A.Table({
  i8: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => pick(i, (i % 256) - 128)),
    new A.Int8(),
  ),
  u16: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => pick(i + 1, (i * 93) % 65536)),
    new A.Uint16(),
  ),
  i64: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => pick(i + 2, BigInt(i) * 1234567890123n - 9223372036854775807n)),
    new A.Int64(),
  ),
  u64: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => 18446744073709551615n - BigInt(i)),
    new A.Uint64(),
  ),
  f16: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => pick(i, i / 8)),
    new A.Float16(),
  ),
  f32: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => Math.fround(Math.sin(i))),
    new A.Float32(),
  ),
  f64: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => pick(i + 4, i === 0 ? -0 : i === 1 ? Number.NaN : Math.cos(i) * 1e300)),
    new A.Float64(),
  ),
  day: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => pick(i, new Date(Date.UTC(2020, 0, 1 + i)))),
    new A.DateDay(),
  ),
  ms: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => new Date(Date.UTC(2020, 0, 1) + i * 1001)),
    new A.DateMillisecond(),
  ),
  time: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => pick(i + 1, i * 1000)),
    new A.TimeMillisecond(),
  ),
  ts: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => pick(i + 3, 1700000000000 + i)),
    new A.TimestampMillisecond(),
  ),
  dur: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => BigInt(i) * 1000000007n),
    new A.Duration(A.TimeUnit.NANOSECOND),
  ),
  flag: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => pick(i + 2, i % 3 === 0)),
    new A.Bool(),
  ),
  text: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => pick(i, i % 11 === 0 ? '' : `é${'x'.repeat(i % 13)}${i}`)),
    new A.Utf8(),
  ),
  bytes: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) =>
      pick(
        i + 1,
        Uint8Array.from({ length: i % 6 }, (_, k) => (i + k) % 256),
      ),
    ),
    new A.Binary(),
  ),
  fixed: A.vectorFromArray(
    Array.from({ length: rows }, (_, i) => Uint8Array.of(i % 256, 255 - (i % 256), 7)),
    new A.FixedSizeBinary(3),
  ),
});

/** The table cut into batches of these sizes in turn (0-row batches too). */
function cut(sizes: readonly number[]): A.Table {
  const batches: A.RecordBatch[] = [];
  let at = 0;
  for (let k = 0; at < rows; k++) {
    const n = sizes[k % sizes.length]!;
    batches.push(
      table.slice(at, at + n).batches[0] ??
        new A.RecordBatch(
          table.schema,
          A.makeData({
            type: new A.Struct(table.schema.fields),
            length: 0,
            nullCount: 0,
            children: table.schema.fields.map((f) => A.makeData({ type: f.type, length: 0 } as never)),
          }),
        ),
    );
    at += n;
  }
  return new A.Table(table.schema, batches);
}

/** A cell as text that tells every value apart (bigints, NaN, -0, bytes). */
function cellText(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return `${x}n`;
    if (typeof x === 'number' && (Number.isNaN(x) || Object.is(x, -0))) return String(Object.is(x, -0) ? '-0' : x);
    if (ArrayBuffer.isView(x)) return Array.from(x as Uint8Array);
    return x;
  });
}

const cells = (t: A.Table): string[][] => Array.from({ length: t.numRows }, (_, i) => t.schema.fields.map((f) => cellText(t.getChild(f.name)!.get(i))));

async function collect(batches: AsyncIterable<NumberedBatch>): Promise<NumberedBatch[]> {
  const out: NumberedBatch[] = [];
  for await (const b of batches) out.push(b);
  return out;
}

describe('small record batches', () => {
  it.each([[[1]], [[3, 0, 1, 17]], [[250]]])('in a file, cut in batches of %j, are gathered, every cell as apache-arrow reads it', async (sizes) => {
    const source = cut(sizes);
    const bytes = A.tableToIPC(source, 'file');
    const file = await openArrowFile(memorySource(bytes, 'small.arrow'));
    const got = await collect(file.batches());
    expect(got.length).toBeLessThan(4);
    expect(got[0]!.index).toBe(0);
    const read = new A.Table(got.map((b) => b.batch));
    expect(read.schema.fields.map(String)).toEqual(table.schema.fields.map(String));
    expect(cells(read)).toEqual(cells(A.tableFromIPC(bytes)));
  });

  it.each([
    [[1], []],
    [
      [2, 5],
      [7, 100, 101, 3000, 3001],
    ],
  ])('in a stream, cut in batches of %j and delivered in pieces %j, likewise', async (sizes, pieces) => {
    const bytes = A.tableToIPC(cut(sizes), 'stream');
    const stream = new ArrowMessages(pipeSource(bytes, pieces, 'small.arrows'));
    await stream.open();
    const got = await collect(stream.batches());
    expect(cells(new A.Table(got.map((b) => b.batch)))).toEqual(cells(A.tableFromIPC(bytes)));
  });

  it('not live, are gathered alike however the bytes arrive (the statistics over them then come out the same)', async () => {
    const bytes = A.tableToIPC(cut([1, 3]), 'stream');
    const shapes: number[][] = [];
    for (const pieces of [[], [9, 500, 501, 502, 4000, 4001], Array.from({ length: 200 }, (_, i) => i * 97)]) {
      const stream = new ArrowMessages(pipeSource(bytes, pieces, 'small.arrows'), false);
      await stream.open();
      shapes.push((await collect(stream.batches())).map((b) => b.batch.numRows));
    }
    expect(shapes[0]).toEqual([rows]);
    expect(shapes[1]).toEqual(shapes[0]);
    expect(shapes[2]).toEqual(shapes[0]);
  });

  it.each([
    ['float64', 10_000],
    ['int8', 5000],
  ])('numbers each batch handed out by the first batch it holds; one of many rows (%s) is read alone, from a file as from a stream', async (type, big) => {
    const x = new A.Table({
      x: A.vectorFromArray(
        Array.from({ length: big }, (_, i) => i % 100),
        type === 'int8' ? new A.Int8() : new A.Float64(),
      ),
    });
    const one = (i: number): A.RecordBatch => x.slice(i, i + 1).batches[0]!;
    const mixed = new A.Table(x.schema, [one(0), one(1), one(2), x.batches[0]!, one(3), one(4)]);
    for (const bytes of [A.tableToIPC(mixed, 'stream'), A.tableToIPC(mixed, 'file')]) {
      const source = bytes[0] === 0x41 ? await openArrowFile(memorySource(bytes, 'mixed.arrow')) : new ArrowMessages(pipeSource(bytes, [], 'mixed.arrows'));
      if (source instanceof ArrowMessages) await source.open();
      const got = await collect(source.batches());
      expect(got.map((b) => [b.index, b.batch.numRows])).toEqual([
        [0, 3],
        [3, big],
        [4, 2],
      ]);
      expect(got[1]!.batch.getChild('x')!.get(big - 1)).toBe((big - 1) % 100);
    }
  });
});

describe('a corrupt batch among small ones', () => {
  /** The stream's bytes with record batch `which` changed by `change` (given the metadata's bytes and where its RecordBatch table is). */
  function withBatch(bytes: Uint8Array, which: number, change: (view: DataView, at: number, bb: ByteBuffer, header: RecordBatch) => void): Uint8Array {
    const out = Uint8Array.from(bytes);
    const view = new DataView(out.buffer);
    let at = 0;
    let batch = -1;
    for (;;) {
      const length = view.getInt32(at + 4, true);
      const bb = new ByteBuffer(out.subarray(at + 8, at + 8 + length));
      const message = Message.getRootAsMessage(bb);
      if (message.headerType() === MessageHeader.RecordBatch && ++batch === which) {
        change(view, at + 8, bb, message.header(new RecordBatch()) as RecordBatch);
        return out;
      }
      at += 8 + length + Number(message.bodyLength());
    }
  }

  const withRows = (bytes: Uint8Array, which: number, rows: bigint): Uint8Array =>
    withBatch(bytes, which, (view, at, bb, header) => view.setBigInt64(at + header.bb_pos + bb.__offset(header.bb_pos, 4), rows, true));

  /** A stream of 40 one-row batches of a float64 column. */
  const fortyOneRowBatches = (): Uint8Array => {
    const x = new A.Table({
      x: A.vectorFromArray(
        Array.from({ length: 40 }, (_, i) => i),
        new A.Float64(),
      ),
    });
    return A.tableToIPC(
      new A.Table(
        x.schema,
        Array.from({ length: 40 }, (_, i) => x.slice(i, i + 1).batches[0]!),
      ),
      'stream',
    );
  };

  const read = async (bytes: Uint8Array): Promise<NumberedBatch[]> => {
    const stream = new ArrowMessages(pipeSource(bytes, [], 'small.arrows'), false);
    await stream.open();
    return collect(stream.batches());
  };

  it('a buffer that does not start at a multiple of 8 is not read from the wrong bytes: apache-arrow refuses it', async () => {
    const bytes = fortyOneRowBatches();
    // Buffer 1 (the values) of batch 21 moved from offset 0 to 4: the offset field of its Buffer struct.
    const moved = withBatch(bytes, 21, (view, at, bb, header) => {
      const buffers = bb.__vector(header.bb_pos + bb.__offset(header.bb_pos, 8));
      view.setBigInt64(at + buffers + 16, view.getBigInt64(at + buffers + 16, true) + 4n, true);
    });
    await expect(read(moved)).rejects.toThrow(/multiple of 8/);
  });

  it('a message that is no record batch where one should be is refused, not skipped', async () => {
    const bytes = fortyOneRowBatches();
    // The header type of batch 21's message (its byte at the field's place): RecordBatch (3) to Tensor (4).
    let changed: Uint8Array | undefined;
    withBatch(bytes, 21, (view, at, bb) => {
      const root = bb.readInt32(bb.position()) + bb.position();
      changed = Uint8Array.from(new Uint8Array(view.buffer));
      changed[at + root + bb.__offset(root, 6)] = 4;
    });
    await expect(read(changed!)).rejects.toThrow(
      'small.arrows: record batch 21: a message of type 4 where a record batch should be (a corrupt stream: a stream holds schemas, dictionaries and record batches)',
    );
  });

  it("is refused as apache-arrow's path refuses it, numbered among all the batches", async () => {
    const bytes = withRows(A.tableToIPC(cut([1]), 'stream'), 17, 2n);
    const stream = new ArrowMessages(pipeSource(bytes, [], 'small.arrows'));
    await stream.open();
    await expect(collect(stream.batches())).rejects.toThrow("small.arrows: record batch 17: column 'i8' has 1 values, the batch 2 rows (a corrupt file)");
  });
});
