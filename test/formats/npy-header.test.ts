import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { TsnormError } from '../../src/errors.js';
import { MAX_HEADER_BYTES, NpyHeaderError, headerLength, parseHeader } from '../../src/formats/npy/header.js';
import { MAX_CHANNELS, NpyReader } from '../../src/formats/npy/reader.js';
import { StreamSource, openInput } from '../../src/io/byte-source.js';
import { tempDir } from '../helpers/cli.js';
import { handMadeNpy, headerDict } from '../helpers/hand-made-npy.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function refusal(bytes: Uint8Array): string {
  try {
    parseHeader(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(NpyHeaderError);
    return (err as Error).message;
  }
  throw new Error('parseHeader accepted the header');
}

describe('NPY header: shape dimensions', () => {
  it.each([
    ['(-3, -100)', 'dimension 0 of the shape is -3'],
    ['(3, -1)', 'dimension 1 of the shape is -1'],
    ['(-1, -3, 100)', 'dimension 0 of the shape is -1'],
    ['(99999999999999999999, 1)', 'dimension 0 of the shape is 99999999999999999999'],
  ])('refuses %s', (shape, message) => {
    const text = refusal(handMadeNpy(headerDict(shape)));
    expect(text).toContain(message);
    expect(text).toContain('whole number');
  });

  it('shows a dimension of a million digits shortened', () => {
    const text = refusal(handMadeNpy(headerDict(`(${'9'.repeat(1_000_000)}, 1)`), { major: 2 }));
    expect(text).toContain('dimension 0 of the shape is 99999999999999999999... (1000000 digits)');
    expect(text.length).toBeLessThan(200);
  });

  it('still reads zero and Python 2 long dimensions', () => {
    expect(parseHeader(handMadeNpy(headerDict('(0, 3L, 50)'))).shape).toEqual([0, 3, 50]);
  });
});

describe('NPY header: keys, as numpy reads them', () => {
  it('refuses a key besides descr, fortran_order and shape', () => {
    expect(refusal(handMadeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), 'extra': 1, }"))).toBe(
      "header has an unexpected key 'extra' (an NPY header holds descr, fortran_order and shape only)",
    );
  });

  it('refuses a shape written as a list, reads the same shape as a tuple', () => {
    expect(refusal(handMadeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': [1, 2], }"))).toBe("header has no 'shape' tuple of integers");
    expect(parseHeader(handMadeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }")).shape).toEqual([1, 2]);
  });

  it('still reads a structured descr (a list) far enough to say what it is', () => {
    expect(refusal(handMadeNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"))).toContain('structured dtype');
  });
});

describe('NPY header: nesting', () => {
  it('refuses a header nested 200,000 deep without overflowing the stack', () => {
    expect(refusal(handMadeNpy(headerDict('('.repeat(200_000)), { major: 2 }))).toContain('nested deeper than 32');
  });

  it('parses 32 levels (the dict and 31 tuples) and refuses 33', () => {
    // 32 levels parse; the shape is then the wrong kind of value, which is a different message.
    expect(refusal(handMadeNpy(headerDict(`${'('.repeat(31)}${')'.repeat(31)}`)))).toContain("no 'shape' tuple of integers");
    expect(refusal(handMadeNpy(headerDict(`${'('.repeat(32)}${')'.repeat(32)}`)))).toContain('nested deeper than 32');
  });
});

describe('NPY header: versions', () => {
  it.each([
    [1, 5],
    [2, 1],
    [3, 255],
  ])('refuses version %i.%i', (major, minor) => {
    const bytes = handMadeNpy(headerDict('(3, 100)'), { major, minor });
    expect(refusal(bytes)).toContain(`unsupported NPY format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  });

  it.each([1, 2, 3])('reads version %i.0', (major) => {
    expect(parseHeader(handMadeNpy(headerDict('(3, 100)'), { major })).version).toBe(major);
  });
});

describe('NPY header: what follows the dict', () => {
  it.each([
    [' garbage\n', '"garbage"'],
    ['{}\n', '"{}"'],
    [',\n', '","'],
    ['\n\n\x00', '"\\u0000"'],
  ])('refuses %j after the dict', (padding, shown) => {
    const text = refusal(handMadeNpy(headerDict('(3, 100)'), { padding }));
    expect(text).toContain('unexpected text after the header dict');
    expect(text).toContain(shown);
  });

  it('accepts the padding numpy and other writers use: spaces, tabs, a final newline', () => {
    for (const padding of ['\n', '   \n', ' \t \r\n', '']) {
      expect(parseHeader(handMadeNpy(headerDict('(3, 100)'), { padding })).shape).toEqual([3, 100]);
    }
  });
});

describe('NPY header: length', () => {
  const preamble = (major: number, length: number) => {
    const b = Buffer.alloc(12);
    b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
    b.writeUInt32LE(length, 8);
    return b;
  };

  it.each([0xffffffff, MAX_HEADER_BYTES])('refuses a v2 header declaring %i bytes, before reading it', (length) => {
    expect(() => headerLength(preamble(2, length))).toThrow(NpyHeaderError);
    expect(() => headerLength(preamble(2, length))).toThrow(`NPY header of ${12 + length} bytes is implausibly large (at most ${MAX_HEADER_BYTES})`);
  });

  it('accepts the longest v1 header and a v3 header just under the cap', () => {
    expect(headerLength(preamble(1, 0xffff))).toBe(10 + 0xffff);
    expect(headerLength(preamble(3, MAX_HEADER_BYTES - 12))).toBe(MAX_HEADER_BYTES);
  });

  it('the reader refuses a 2 MiB header length from a pipe without waiting for the bytes', async () => {
    const source = new StreamSource('<pipe>', Readable.from([Buffer.from(preamble(2, 2 << 20))]));
    await expect(NpyReader.open(source)).rejects.toThrow(`<pipe>: NPY header of ${12 + (2 << 20)} bytes is implausibly large`);
  });
});

/** Opens `dict` + `data` as a file, or as a pipe when `pipe` is set. */
async function open(dict: string, data: Uint8Array = new Uint8Array(0), pipe = false): Promise<NpyReader> {
  const bytes = handMadeNpy(dict, { data });
  if (pipe) return NpyReader.open(new StreamSource('<pipe>', Readable.from([bytes])));
  const file = path.join(fs.mkdtempSync(path.join(tmp.dir, 'npy-')), 'hostile.npy');
  fs.writeFileSync(file, bytes);
  return NpyReader.open(await openInput(file));
}

async function openRefusal(dict: string, data?: Uint8Array, pipe = false): Promise<string> {
  try {
    const reader = await open(dict, data, pipe);
    await reader.close();
  } catch (err) {
    expect(err).toBeInstanceOf(TsnormError);
    return (err as Error).message;
  }
  throw new Error('NpyReader.open accepted the file');
}

describe('NPY reader: from the header to the data', () => {
  it('refuses negative dimensions whose product matches the data', async () => {
    const text = await openRefusal(headerDict('(-3, -100)'), new Uint8Array(300 * 4));
    expect(text).toMatch(/hostile\.npy: dimension 0 of the shape is -3/);
  });

  it.each([
    ['(1000000000, 1000000000, 1000000000)', '<f8', false],
    ['(1000000000, 1000000000, 1000000000)', '<f8', true],
    ['(0, 100000000000000, 100000000000000)', '<f8', false],
    ['(100000000000000, 0, 100000000000000)', '|u1', false],
    ['(1, 1, 4503599627370496)', '<f4', true],
  ])('refuses shape %s of %s (pipe: %s), whose byte count passes 2^53', async (shape, descr, pipe) => {
    const text = await openRefusal(headerDict(shape, descr), undefined, pipe);
    expect(text).toContain(`shape ${shape} of ${descr} is too large`);
  });

  it.each([
    ['(0, 1073741824, 2)', false],
    ['(1, 1099511627776, 1)', true],
    ['(5, 4294967296, 0)', false],
  ])('refuses %s channels (pipe: %s) before any memory is set aside for them', async (shape, pipe) => {
    // From a pipe the data is not known yet: a few bytes of it are enough.
    const text = await openRefusal(headerDict(shape, '|u1'), pipe ? new Uint8Array(100) : undefined, pipe);
    expect(text).toContain(`channels: more than tsnorm supports (at most ${MAX_CHANNELS})`);
  });

  it.each([
    ['(1000000000, 2, 0)', false],
    ['(1000000, 16777216, 0)', true],
  ])('reads an empty Fortran-order array %s (pipe: %s) without transposing it', async (shape, pipe) => {
    // A transposition tile holds one step of every series: 1.6e10 or 1.3e14 bytes here, for no data.
    const reader = await open(`{'descr': '<f8', 'fortran_order': True, 'shape': ${shape}, }`, undefined, pipe);
    const blocks: unknown[] = [];
    for await (const group of reader.blocks()) blocks.push(...group);
    await reader.close();
    expect(blocks).toEqual([]);
  });
});
