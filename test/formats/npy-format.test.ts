import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NpyReader } from '../../src/formats/npy/reader.js';
import { openInput } from '../../src/io/byte-source.js';
import { decodeValues, parseDtype } from '../../src/formats/npy/dtype.js';
import { NpyHeaderError, formatHeader, headerLength, parseHeader } from '../../src/formats/npy/header.js';

describe('NPY header', () => {
  it.each([[[4, 3, 50]], [[3, 53]], [[1]], [[0, 2, 5]], [[128, 16, 65536]]])('round-trips shape %j', (shape) => {
    for (const descr of ['<f4', '<f8']) {
      const bytes = formatHeader(descr, shape);
      expect(bytes.length % 64).toBe(0);
      expect(headerLength(bytes)).toBe(bytes.length);
      const h = parseHeader(bytes);
      expect(h).toMatchObject({ version: 1, descr, fortranOrder: false, shape, dataOffset: bytes.length });
    }
  });

  it('writes a 1-tuple with its trailing comma, as Python does', () => {
    expect(new TextDecoder().decode(formatHeader('<f4', [7]))).toContain("'shape': (7,)");
  });

  it('reserves room when asked (a header written before the shape is known)', () => {
    expect(formatHeader('<f8', [2, 3, 4], 128).length).toBe(128);
  });

  it('switches to version 2.0 when the dict does not fit 65535 bytes', () => {
    const shape = Array.from({ length: 30000 }, () => 1);
    const bytes = formatHeader('<f4', shape);
    expect(bytes[6]).toBe(2);
    expect(parseHeader(bytes).shape.length).toBe(30000);
  });

  it.each([
    [Uint8Array.of(1, 2, 3), 'too short'],
    [Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x5a, 1, 0, 0, 0]), 'bad magic'],
    [Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 4, 0, 0, 0]), 'version 4.0'],
  ])('refuses %j (%s)', (bytes, message) => {
    expect(() => parseHeader(bytes)).toThrow(NpyHeaderError);
    expect(() => parseHeader(bytes)).toThrow(message);
  });
});

describe('NPY dtypes', () => {
  it.each(['<f4', '>f8', '|u1', '<i8', '<f2', '|b1', '>i2', '<u4'])('accepts %s', (descr) => {
    expect(parseDtype(descr).descr).toBe(descr);
  });

  it.each([
    ['<c8', 'complex'],
    ['|O', 'Python objects'],
    ['<U3', 'unicode'],
    ['|S5', 'byte strings'],
    ['<M8[ns]', 'unsupported dtype'],
    ['<f3', 'unsupported dtype'],
  ])('refuses %s naming %s', (descr, kind) => {
    expect(() => parseDtype(descr)).toThrow(kind);
  });

  it('decodes big-endian and half-precision values to the numbers they hold', () => {
    const raw = new Uint8Array(new ArrayBuffer(8));
    new DataView(raw.buffer).setInt16(0, -1234, false);
    new DataView(raw.buffer).setInt16(2, 321, false);
    expect(Array.from(decodeValues(parseDtype('>i2'), raw, 2, () => new Float64Array(2)))).toEqual([-1234, 321]);
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001]).buffer);
    expect(Array.from(decodeValues(parseDtype('<f2'), half, 4, () => new Float64Array(4)))).toEqual([1, -2, Infinity, 2 ** -24]);
  });

  it('reads any nonzero bool byte as True (1), as numpy does', () => {
    const raw = Uint8Array.of(0, 7, 1, 0xff);
    expect(Array.from(decodeValues(parseDtype('|b1'), raw, 4, () => new Float64Array(4)))).toEqual([0, 1, 1, 1]);
  });

  it('gives float32 data as a view, without a copy', () => {
    const raw = new Uint8Array(new Float32Array([1.5, -2.25]).buffer);
    const v = decodeValues(parseDtype('<f4'), raw, 2, () => {
      throw new Error('no scratch needed');
    });
    expect(v).toBeInstanceOf(Float32Array);
    expect(v.buffer).toBe(raw.buffer);
  });
});

describe('NPY reader groups', () => {
  it('holds at most a few thousand instances per group, however small each is', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnorm-groups-'));
    try {
      const file = path.join(dir, 'tiny.npy');
      const n = 10_000;
      fs.writeFileSync(file, Buffer.concat([formatHeader('<f4', [n, 1, 2]), Buffer.from(new Float32Array(n * 2).map((_, i) => i).buffer)]));
      const reader = await NpyReader.open(await openInput(file));
      let largest = 0;
      let seen = 0;
      for await (const blocks of reader.blocks()) {
        largest = Math.max(largest, blocks.length);
        seen += blocks.length;
      }
      await reader.close();
      expect(seen).toBe(n);
      expect(largest).toBeGreaterThan(1);
      expect(largest).toBeLessThanOrEqual(4096);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
