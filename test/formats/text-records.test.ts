import { describe, expect, it } from 'vitest';
import { recordText } from '../../src/formats/csv/records.js';
import { TextRecords } from '../../src/formats/csv/text-records.js';
import type { ByteSource } from '../../src/io/byte-source.js';

/** A pipe-like source of `total` bytes: a header line, then `x` without end (no line break). */
function endlessLine(total: number): ByteSource {
  let sent = 0;
  const head = Buffer.from('a,b\n');
  return {
    name: 'gen',
    size: undefined,
    seekable: false,
    async read(buf, offset, length) {
      const n = Math.min(length, total - sent);
      buf.fill(0x78, offset, offset + n);
      // The header's bytes where they fall in the stream, however the reads are cut.
      if (sent < head.length) buf.set(head.subarray(sent, Math.min(head.length, sent + n)), offset);
      sent += n;
      return n;
    },
    async peek() {
      return new Uint8Array(0);
    },
    async close() {},
  };
}

describe('TextRecords', () => {
  it('refuses a record longer than a string can hold with a one-line error naming its line', async () => {
    const records = new TextRecords(endlessLine(600 << 20), ',');
    const first = (await records.next())!;
    expect(Array.from({ length: first.count }, (_, r) => recordText(first, r))).toEqual(['a,b']);
    await expect(records.next()).rejects.toThrow(/^gen: line 2: a record longer than 512 MB/);
  }, 60_000);
});
