import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import { Footer } from 'apache-arrow/fb/footer';
import { ByteBuffer } from 'flatbuffers';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBatch, messageAt } from '../../src/formats/arrow/validate.js';
import { FIXTURES, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';

// The checks that stand between a corrupt Arrow batch or footer and apache-arrow reading past
// its buffers: each kind of short buffer, and the footer's pointers.

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** checkBatch's message for a batch of one column made of `data`. */
function refusal(data: A.Data): string {
  try {
    checkBatch(new A.RecordBatch({ x: data }), 'f.arrow', 3);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

describe('record batch buffers against their rows', () => {
  it('accepts whole buffers of each kind', () => {
    const table = A.tableFromArrays({ f: new Float64Array([1, 2, 3]), s: ['a', 'bb', 'c'], i: new Int32Array([1, 2, 3]) });
    expect(() => checkBatch(table.batches[0]!, 'f.arrow', 0)).not.toThrow();
    expect(refusal(A.makeData({ type: new A.Bool(), length: 16, data: new Uint8Array(2) }))).toBe('accepted');
  });

  it.each([
    ['float64 values', A.makeData({ type: new A.Float64(), length: 10, data: new Float64Array(4) }), 'value buffer holds 4 entries, 10 rows need 10'],
    ['booleans (bits)', A.makeData({ type: new A.Bool(), length: 100, data: new Uint8Array(2) }), 'value buffer holds 2 entries, 100 rows need 13'],
    [
      'a validity bitmap',
      A.makeData({ type: new A.Float64(), length: 100, nullCount: 1, data: new Float64Array(100), nullBitmap: new Uint8Array(2) }),
      'validity bitmap holds 2 entries, 100 rows need 13',
    ],
    [
      'dictionary indices',
      new A.Data(new A.Dictionary(new A.Utf8(), new A.Int32()), 0, 8, 0, { [A.BufferType.DATA]: new Int32Array(3) }, [], A.vectorFromArray(['a'])),
      'index buffer holds 3 entries, 8 rows need 8',
    ],
    [
      'a fixed-size list child',
      A.makeData({
        type: new A.FixedSizeList(4, new A.Field('v', new A.Float64())),
        length: 5,
        child: A.makeData({ type: new A.Float64(), length: 12, data: new Float64Array(12) }),
      }),
      'list values holds 12 entries, 5 rows need 20',
    ],
    [
      'a struct child',
      A.makeData({
        type: new A.Struct([new A.Field('a', new A.Float64())]),
        length: 6,
        children: [A.makeData({ type: new A.Float64(), length: 2, data: new Float64Array(2) })],
      }),
      'child column holds 2 entries, 6 rows need 6',
    ],
    [
      'utf8 offsets out of order',
      A.makeData({ type: new A.Utf8(), length: 3, valueOffsets: new Int32Array([0, 2, 1, 3]), data: new Uint8Array(3) }),
      'its offset 2 is 1, outside 2..3',
    ],
    [
      'utf8 offsets past the values',
      A.makeData({ type: new A.Utf8(), length: 2, valueOffsets: new Int32Array([0, 1, 9]), data: new Uint8Array(3) }),
      'its offset 2 is 9, outside 1..3',
    ],
  ])('refuses short %s, naming the batch and column', (_what, data, says) => {
    const message = refusal(data);
    expect(message.startsWith("f.arrow: record batch 3: column 'x': ")).toBe(true);
    expect(message).toContain(says);
    expect(message.endsWith('(a corrupt file)')).toBe(true);
  });
});

describe('messages where the footer points', () => {
  it('refuses bytes that hold no message', () => {
    expect(() => messageAt(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x40, 0, 0, 0, 1, 2]), 0, 'f.arrow: record batch 0')).toThrow(
      'f.arrow: record batch 0: no valid message there',
    );
    expect(() => messageAt(new Uint8Array(3), 0, 'f.arrow: record batch 0')).toThrow('no valid message there');
  });

  /** A copy of a fixture whose footer's block `field` of entry 0 (dictionaries or record batches) is set to `value`. */
  function patchedFooter(kind: 'dictionaries' | 'recordBatches', offset: (bytes: Buffer, footer: Footer) => bigint): string {
    const bytes = Buffer.from(fs.readFileSync(path.join(FIXTURES, 'arrow/dict_nulls.arrow')));
    const length = bytes.readInt32LE(bytes.length - 10);
    const start = bytes.length - 10 - length;
    const footer = Footer.getRootAsFooter(new ByteBuffer(new Uint8Array(bytes.buffer, bytes.byteOffset + start, length)));
    const block = footer[kind](0)!;
    bytes.writeBigInt64LE(offset(bytes, footer), start + block.bb_pos);
    const file = path.join(tmp.dir, `${kind}.arrow`);
    fs.writeFileSync(file, bytes);
    return file;
  }

  it('refuses a dictionary batch placed outside the file, before apache-arrow reads it', () => {
    const file = patchedFooter('dictionaries', (bytes) => BigInt(bytes.length + 100));
    const r = tsnorm(['inspect', file]);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/: corrupt Arrow file: its footer places dictionary batch 0 at bytes \d+\.\.\d+, outside the file \(\d+ bytes\)\n$/);
  });

  it('refuses a record batch entry that points at another kind of message', () => {
    // Record batch 0 placed where dictionary batch 0 is: a message, but a dictionary batch.
    const file = patchedFooter('recordBatches', (_bytes, footer) => footer.dictionaries(0)!.offset());
    const r = tsnorm(['inspect', file]);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toContain(': corrupt Arrow file: record batch 0: the footer points at a message that is no record batch');
  });
});
