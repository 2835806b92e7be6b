/**
 * Properties of the Arrow IPC readers (file and stream formats, long and list layouts): any bytes
 * give record batches or a clear TsnormError, never another exception and never a hang; random
 * valid tables (several batches, nulls, numeric types, ids of several types) read back as the
 * values and instances they hold.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as A from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openArrowReader } from '../../src/formats/arrow/reader.js';
import { TsnormError } from '../../src/errors.js';
import { BIN, FIXTURES, isOneLineError } from '../helpers/cli.js';
import { cleanly, drain, hostileBytes, memorySource, pipeSource, settings, timeoutFor } from './support.js';

const arrowFiles = (dir: string, prefix = ''): string[] =>
  fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.startsWith(prefix) && /\.arrows?$/.test(f))
        .map((f) => path.join(dir, f))
    : [];

/** The Arrow fixtures (pyarrow, polars; file and stream; compressed too) and the malformed ones. */
const ARROW_FILES: Uint8Array[] = [...arrowFiles(path.join(FIXTURES, 'arrow')), ...arrowFiles(path.join(FIXTURES, 'bad'), 'arrow')]
  .filter((f) => fs.statSync(f).size <= 16 << 10)
  .map((f) => new Uint8Array(fs.readFileSync(f)));

const options = fc.record({
  layout: fc.constantFrom<'long' | 'list'>('long', 'long', 'list'),
  id: fc.option(fc.constantFrom('item', 'site', 'id', 'unit', 'device', 't', 'item_id'), { freq: 2 }),
  keep: fc.option(fc.subarray(['t', 'ts', 'step', 'note', 'start'], { maxLength: 2 }), { freq: 2 }),
  channels: fc.option(fc.subarray(['ax', 'ay', 'adc', 'count', 'x', 'y', 'a', 'b', 'c', 'target', 'value'], { minLength: 1, maxLength: 3 }), { freq: 4 }),
  live: fc.boolean(),
});

describe('Arrow readers on hostile bytes', () => {
  it(
    'give record batches or a TsnormError, from a file or a pipe',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          hostileBytes(ARROW_FILES, 2048),
          options,
          fc.boolean(),
          fc.array(fc.nat(1 << 14), { maxLength: 6 }),
          async (bytes, o, seekable, cuts) => {
            const src = seekable ? memorySource(bytes, 'prop.arrow') : pipeSource(bytes, cuts);
            const opts = { layout: o.layout, live: o.live, id: o.id ?? undefined, keep: o.keep ?? undefined, channels: o.channels ?? undefined };
            await cleanly(async () => drain(await openArrowReader(src, opts)));
            await src.close();
          },
        ),
        settings(),
      );
    },
    timeoutFor(15),
  );
});

// ---------------------------------------------------------------------------------------------
// Valid tables made by apache-arrow from a model.

type ChannelType = 'float64' | 'float32' | 'float16' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint32';

const arrowType = (t: ChannelType): A.DataType =>
  ({
    float64: new A.Float64(),
    float32: new A.Float32(),
    float16: new A.Float16(),
    int8: new A.Int8(),
    int16: new A.Int16(),
    int32: new A.Int32(),
    int64: new A.Int64(),
    uint8: new A.Uint8(),
    uint32: new A.Uint32(),
  })[t];

/** A value of the type, from a double: exactly representable in it (integers have no -0). */
function valueFor(t: ChannelType, x: number): number {
  return t.startsWith('float') ? floatFor(t, x) : integerFor(t, x) + 0;
}

function floatFor(t: ChannelType, x: number): number {
  return t === 'float32' ? Math.fround(x) : t === 'float16' ? Math.round(x % 1000) / 2 : x;
}

function integerFor(t: ChannelType, x: number): number {
  switch (t) {
    case 'int8':
      return Math.trunc(x % 128);
    case 'int16':
      return Math.trunc(x % 32768);
    case 'int32':
      return Math.trunc(x % 2 ** 31);
    case 'int64':
      return Math.trunc(x % 2 ** 53);
    case 'uint8':
      return Math.abs(Math.trunc(x % 256));
    case 'uint32':
      return Math.abs(Math.trunc(x % 2 ** 32));
    default:
      return x;
  }
}

const model = fc.record({
  channels: fc.array(fc.constantFrom<ChannelType>('float64', 'float64', 'float32', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint32'), {
    minLength: 1,
    maxLength: 3,
  }),
  idKind: fc.constantFrom<'none' | 'utf8' | 'int32' | 'dictionary'>('none', 'utf8', 'int32', 'dictionary'),
  /** Where a new id begins (runs of rows), and now and then an id that comes back (refused). */
  starts: fc.array(fc.nat(4), { minLength: 30, maxLength: 30 }),
  comesBack: fc.option(fc.nat(29), { freq: 4 }),
  batches: fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 3 }),
  values: fc.array(fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { freq: 8 }), { minLength: 90, maxLength: 90 }),
  stream: fc.boolean(),
  seekable: fc.boolean(),
  live: fc.boolean(),
  order: fc.nat(5),
});

describe('Arrow long layout, tables built from a model', () => {
  it(
    'reads the values and the instances (runs of ids) the table holds',
    async () => {
      await fc.assert(
        fc.asyncProperty(model, async (m) => {
          const rows = m.batches.reduce((a, b) => a + b, 0);
          // A dictionary that differs between batches is a replacement, which the file format cannot hold.
          const idKind = m.idKind === 'dictionary' && !m.stream && m.batches.length > 1 ? 'utf8' : m.idKind;
          const ids: number[] = [];
          for (let r = 0; r < 30; r++) ids.push(r === 0 ? 0 : m.starts[r] === 0 ? ids[r - 1]! + 1 : ids[r - 1]!);
          // An id that comes back: row r takes the first row's id (when another began in between).
          if (m.comesBack !== null) ids[m.comesBack] = 0;
          const id = (r: number) => ids[r]!;
          const value = (c: number, r: number): number | null => {
            const x = m.values[c * 30 + r];
            return x === null || x === undefined ? null : valueFor(m.channels[c]!, x);
          };
          const batches: A.Table[] = [];
          let start = 0;
          for (const n of m.batches) {
            const range = Array.from({ length: n }, (_, i) => start + i);
            const columns: Record<string, A.Vector> = {};
            const names = m.channels.map((_, c) => `ch${c}`);
            const fields: [string, () => A.Vector][] = [
              ...names.map((name, c): [string, () => A.Vector] => [
                name,
                () => {
                  const t = m.channels[c]!;
                  const xs = range.map((r) => value(c, r));
                  return A.vectorFromArray(t === 'int64' ? xs.map((x) => (x === null ? null : BigInt(x))) : xs, arrowType(t));
                },
              ]),
              [
                't',
                () =>
                  A.vectorFromArray(
                    range.map((r) => BigInt(r)),
                    new A.Int64(),
                  ),
              ],
              [
                'note',
                () =>
                  A.vectorFromArray(
                    range.map((r) => (r % 3 === 0 ? null : `n${r}`)),
                    new A.Utf8(),
                  ),
              ],
            ];
            if (idKind === 'utf8')
              fields.push([
                'id',
                () =>
                  A.vectorFromArray(
                    range.map((r) => `id-${id(r)}`),
                    new A.Utf8(),
                  ),
              ]);
            if (idKind === 'int32') fields.push(['id', () => A.vectorFromArray(range.map(id), new A.Int32())]);
            if (idKind === 'dictionary')
              fields.push([
                'id',
                () =>
                  A.vectorFromArray(
                    range.map((r) => `id-${id(r)}`),
                    new A.Dictionary(new A.Utf8(), new A.Int32()),
                  ),
              ]);
            // Columns in some order: rotate the list.
            for (let k = 0; k < fields.length; k++) {
              const [name, make] = fields[(k + m.order) % fields.length]!;
              columns[name] = make();
            }
            batches.push(new A.Table(columns));
            start += n;
          }
          const table = batches.slice(1).reduce((t, b) => t.concat(b), batches[0]!);
          const bytes = A.tableToIPC(table, m.stream ? 'stream' : 'file');

          // The model's reading: channels are the numeric columns but the id; runs of equal ids are instances.
          const channelNames = table.schema.fields.map((f) => f.name).filter((n) => n.startsWith('ch'));
          const runs: number[][] = [];
          for (let r = 0; r < rows; r++) {
            if (r === 0 || (idKind !== 'none' && id(r) !== id(r - 1))) runs.push([]);
            runs[runs.length - 1]!.push(r);
          }
          const firstIds = runs.map((run) => id(run[0]!));
          const idReturns = idKind !== 'none' && new Set(firstIds).size !== firstIds.length;

          const src = m.seekable ? memorySource(bytes, 'prop.arrow') : pipeSource(bytes, [7, 100, 333]);
          const r = await cleanly(async () => {
            const reader = await openArrowReader(src, { layout: 'long', live: m.live, keep: ['t'], id: idKind === 'none' ? undefined : 'id' });
            expect(reader.schema.channelNames).toEqual(channelNames);
            return drain(reader, true);
          });
          await src.close();
          if (idReturns) {
            expect(r.ok, 'an id that comes back was accepted').toBe(false);
            return;
          }
          if (!r.ok) throw new Error(`refused a valid table: ${r.error.message}`);
          expect(r.value.instances).toBe(runs.length);
          runs.forEach((run, i) => {
            channelNames.forEach((name, ch) => {
              const c = Number(name.slice(2));
              const want = run.map((row) => value(c, row) ?? NaN);
              const got = r.value.series?.[i]?.[ch] ?? [];
              expect(got.length).toBe(want.length);
              want.forEach((w, t) => {
                if (!(Object.is(got[t], w) || (Number.isNaN(got[t]) && Number.isNaN(w)))) {
                  throw new Error(`instance ${i}, channel ${name} (${m.channels[c]}), step ${t}: got ${got[t]}, want ${w}`);
                }
              });
            });
          });
        }),
        settings(),
      );
    },
    timeoutFor(10),
  );
});

// ---------------------------------------------------------------------------------------------
// What the properties above found. Each test states the invariant and fails today: `it.fails`
// keeps the suite green while the bug is there and turns red once it is fixed (then make it `it`).

/** A valid Arrow file of one table, with `patch` applied to its bytes. */
function patchedFile(columns: Record<string, A.Vector>, patch: (bytes: Buffer) => void): Uint8Array {
  const bytes = Buffer.from(A.tableToIPC(new A.Table(columns), 'file'));
  patch(bytes);
  return new Uint8Array(bytes);
}

/** Reads every block and cell; undefined, or what it threw. */
async function readAll(bytes: Uint8Array): Promise<unknown> {
  try {
    await drain(await openArrowReader(memorySource(bytes, 'bug.arrow'), { layout: 'long', live: false }));
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('corrupt Arrow data the properties found (fixed): one clear error each', () => {
  it('a LargeUtf8 offset past 2^53 (inside the column) is a corrupt-file error, not an internal one', async () => {
    // Offsets [0, 1, 2^62, 3]: first and last are plausible; reading cell 1 or 2 made apache-arrow
    // throw "4611686018427387904 is not safe to convert to a number" (a TypeError): exit 70. Every
    // offset is checked when the batch arrives now.
    const bytes = patchedFile({ x: A.vectorFromArray([1, 2, 3], new A.Float64()), note: A.vectorFromArray(['a', 'b', 'c'], new A.LargeUtf8()) }, (b) => {
      const offsets = Buffer.alloc(32);
      [0, 1, 2, 3].forEach((v, i) => offsets.writeBigInt64LE(BigInt(v), i * 8));
      b.writeBigInt64LE(2n ** 62n, b.indexOf(offsets) + 16);
    });
    const err = await readAll(bytes);
    expect(err).toBeInstanceOf(TsnormError);
    expect((err as Error).message).toMatch(/record batch 0: column 'note': its offset 2 is 4611686018427387904, outside 1\.\.\d+ \(a corrupt file\)$/);
  });

  it('a Utf8View cell pointing into a missing data buffer is a corrupt-file error', async () => {
    // The view of row 0 names variadic buffer 7 of 1: apache-arrow threw "BinaryView variadic
    // buffer 7 is missing" (an Error) when the cell was read: exit 70.
    const long = 'a string longer than twelve bytes';
    const bytes = patchedFile({ x: A.vectorFromArray([1, 2], new A.Float64()), note: A.vectorFromArray([long, long], new A.Utf8View()) }, (b) => {
      const view = Buffer.alloc(12);
      view.writeInt32LE(long.length, 0);
      view.write(long.slice(0, 4), 4, 'latin1');
      b.writeInt32LE(7, b.indexOf(view) + 8);
    });
    const err = await readAll(bytes);
    expect(err).toBeInstanceOf(TsnormError);
    expect((err as Error).message).toMatch(/record batch 0: column 'note': row 0's value lies outside its data buffers \(a corrupt file\)$/);
  });

  it('metadata claiming 16M schema fields (or batch nodes) is refused at once, not decoded for minutes and gigabytes', () => {
    // 90 bytes: ARROW1, a footer whose schema's fields vector (empty, at the footer's end) claims
    // 0xffffff entries; every entry past the buffer reads as zeros, a valid empty field, and
    // apache-arrow builds 16M of them (tsnorm inspect: > 60 s and > 4 GB; here a 64 MB heap makes
    // it crash at once). The stream format's schema message (64 bytes) does the same, and so does
    // a record batch message claiming 16M field nodes after a valid schema (208 bytes; 10 s and
    // 1.2 GB, or a crash with 0x7fffffff nodes).
    const file =
      '4152524f57310000100000000c00140012000c00080004000c000000180000000c00000020000000000004000000000000000000000000000000000008000800000004000800000004000000ffffff00480000004152524f5731';
    const stream = 'ffffffff300000001000000000000a000c000a00090004000a000000100000000001040008000800000004000800000004000000ffffff00ffffffff00000000';
    const nodes =
      'ffffffff780000001000000000000a0010000e00070008000a00000000000001100000000000040008000800000004000800000004000000010000001400000010001400040000000f00100000000800100000001000000014000000000000031800000001000000780000000000000000000600080006000600000000000200ffffffff400000001000000000000a000e000c000b0004000a000000140000000000000304000a000c000000080004000a000000080000000c0000000000000000000000ffffff00ffffffff00000000';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnorm-bug-'));
    try {
      for (const [name, hex] of [
        ['fields.arrow', file],
        ['fields.arrows', stream],
        ['nodes.arrows', nodes],
      ] as const) {
        const bytes = Buffer.from(hex, 'hex');
        const input = path.join(dir, name);
        fs.writeFileSync(input, bytes);
        const r = spawnSync(process.execPath, ['--max-old-space-size=64', BIN, 'inspect', input], { timeout: 60_000 });
        const stderr = r.stderr.toString('utf8');
        expect(r.status, `${name}: ${stderr.slice(0, 200)}`).toBe(2);
        expect(isOneLineError(stderr)).toBe(true);
        expect(stderr).toContain('corrupt Arrow metadata');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
