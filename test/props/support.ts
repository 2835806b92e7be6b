/**
 * Shared pieces of the property-based tests (fast-check): the number of runs, byte sources in
 * memory, mutations of valid files, and the rule every reader must keep on hostile input: it
 * returns, or fails with a TsnormError (exit code 2), and never with anything else.
 *
 * Runs per property: TSNORM_PROP_RUNS (default 200; `npm run test:props` sets 10000). fast-check
 * picks a new seed each time and prints it (with the counterexample's path) on a failure: rerun
 * with `fc.assert(..., { seed, path })` to reproduce one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { expect } from 'vitest';
import { type Block, channelStart } from '../../src/core/block.js';
import { TsnormError } from '../../src/errors.js';
import type { DataBlock, SeriesReader } from '../../src/formats/types.js';
import { type ByteSource, StreamSource } from '../../src/io/byte-source.js';
import { FIXTURES } from '../helpers/cli.js';

export const RUNS = Number(process.env.TSNORM_PROP_RUNS ?? 200);

/** A test's time limit: room for RUNS runs of a few milliseconds each on a slow, busy machine. */
// Three times the runs' usual cost: a hang is caught per run (settings' fc.timeout); this bound
// only has to hold on a loaded machine (the CI tiers run beside other work on two cores).
export const timeoutFor = (msPerRun: number, runs = RUNS): number => Math.max(60_000, Math.ceil(3 * runs * msPerRun));

/** fast-check settings: RUNS runs; an async run that takes longer than this is a hang (a failure). */
export const settings = (numRuns = RUNS, hangMs = 15_000): fc.Parameters<unknown> => ({ numRuns, plugins: [fc.timeout(hangMs)] });

// ---------------------------------------------------------------------------------------------
// Byte sources in memory: a seekable one (a file) and a stream (a pipe) delivering given chunks.

/** A seekable input over bytes in memory, as a regular file is read. */
export function memorySource(bytes: Uint8Array, name = 'prop.bin'): ByteSource {
  const data = Uint8Array.from(bytes);
  return {
    name,
    size: data.length,
    seekable: true,
    async read(buf, offset, length, position) {
      if (position >= data.length) return 0;
      const n = Math.min(length, data.length - position);
      buf.set(data.subarray(position, position + n), offset);
      return n;
    },
    async peek(n) {
      return data.slice(0, Math.min(n, data.length));
    },
    async close() {},
  };
}

/** Bytes cut at the given positions (taken modulo the length), as chunks a pipe might deliver. */
export function chunksOf(bytes: Uint8Array, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const c of [...at, bytes.length]) {
    if (c > start) out.push(Buffer.from(bytes.subarray(start, c)));
    start = Math.max(start, c);
  }
  return out;
}

/** A pipe: the project's stream source over a Node stream that delivers these chunks. */
export function pipeSource(bytes: Uint8Array, cuts: readonly number[] = [], name = '<stdin>'): ByteSource {
  return new StreamSource(name, Readable.from(chunksOf(bytes, cuts)));
}

// ---------------------------------------------------------------------------------------------
// Mutations of valid files.

/** 32-bit values that break length fields: zero, negative, huge, off by one. */
const BOUNDARY_INT32 = [0, 1, -1, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 1 << 24, 0x7fffffff, -0x80000000, 0x7ffffff8];

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly byte: number }
  | { readonly kind: 'int32'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'drop'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'duplicate'; readonly from: number; readonly length: number; readonly to: number }
  | { readonly kind: 'splice'; readonly at: number; readonly length: number; readonly donor: number; readonly from: number };

/** Positions: mostly near the start (headers, schemas), sometimes anywhere. */
const position = fc.oneof({ arbitrary: fc.nat(96), weight: 2 }, { arbitrary: fc.nat(1 << 20), weight: 3 });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat(7) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: position,
    byte: fc.oneof(fc.constantFrom(0, 0x20, 0x22, 0x2c, 0x0a, 0x0d, 0x7f, 0x80, 0xff), fc.nat(255)),
  }),
  fc.record({ kind: fc.constant('int32' as const), at: position, value: fc.oneof(fc.constantFrom(...BOUNDARY_INT32), fc.integer()) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('drop' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), from: position, length: fc.integer({ min: 1, max: 256 }), to: position }),
  fc.record({ kind: fc.constant('splice' as const), at: position, length: fc.integer({ min: 1, max: 256 }), donor: fc.nat(), from: position }),
);

/** Applies mutations in order; positions are taken modulo the current length. `donors` feed splices. */
export function mutate(base: Uint8Array, mutations: readonly Mutation[], donors: readonly Uint8Array[] = []): Uint8Array {
  let b: Uint8Array = Uint8Array.from(base);
  const mod = (x: number, n: number) => (n <= 0 ? 0 : x % n);
  for (const m of mutations) {
    switch (m.kind) {
      case 'flip':
        if (b.length) b[mod(m.at, b.length)]! ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length) b[mod(m.at, b.length)] = m.byte;
        break;
      case 'int32': {
        if (b.length < 4) break;
        const at = mod(m.at, b.length - 3);
        new DataView(b.buffer, b.byteOffset, b.byteLength).setInt32(at, m.value, true);
        break;
      }
      case 'truncate':
        b = b.slice(0, mod(m.at, b.length + 1));
        break;
      case 'drop': {
        const at = mod(m.at, b.length + 1);
        b = concat(b.subarray(0, at), b.subarray(at + m.length));
        break;
      }
      case 'insert': {
        const at = mod(m.at, b.length + 1);
        b = concat(b.subarray(0, at), m.bytes, b.subarray(at));
        break;
      }
      case 'duplicate': {
        const from = mod(m.from, b.length + 1);
        const piece = b.slice(from, from + m.length);
        const to = mod(m.to, b.length + 1);
        b = concat(b.subarray(0, to), piece, b.subarray(to));
        break;
      }
      case 'splice': {
        if (donors.length === 0) break;
        const donor = donors[m.donor % donors.length]!;
        const from = mod(m.from, donor.length + 1);
        const at = mod(m.at, b.length + 1);
        b = concat(b.subarray(0, at), donor.subarray(from, from + m.length), b.subarray(at + m.length));
        break;
      }
    }
  }
  return b;
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Hostile bytes made from valid files: one of `bases` with 1 to 4 mutations (most inputs), or
 * random bytes (some inputs), or random bytes behind a valid file's first bytes (its magic).
 */
export function hostileBytes(bases: readonly Uint8Array[], maxRandom = 2048): fc.Arbitrary<Uint8Array> {
  const mutated = fc.tuple(fc.nat(bases.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([i, ms]) => mutate(bases[i]!, ms, bases));
  const random = fc.uint8Array({ maxLength: maxRandom });
  const behindMagic = fc
    .tuple(fc.nat(bases.length - 1), fc.integer({ min: 1, max: 16 }), fc.uint8Array({ maxLength: maxRandom }))
    .map(([i, keep, rest]) => concat(bases[i]!.subarray(0, keep), rest));
  return fc.oneof({ arbitrary: mutated, weight: 6 }, { arbitrary: random, weight: 2 }, { arbitrary: behindMagic, weight: 1 });
}

/** A fixture's bytes. */
export const fixture = (relative: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(FIXTURES, relative)));

// ---------------------------------------------------------------------------------------------
// What a reader must do with any input.

/**
 * Runs `work`: its value, or the TsnormError it failed with. Any other exception (what the CLI
 * would report as an internal error, exit 70) is rethrown, failing the property with its stack.
 */
export async function cleanly<T>(work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: TsnormError }> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    if (err instanceof TsnormError) {
      expect(err.exitCode).toBe(2);
      expect(err.message.length).toBeGreaterThan(0);
      return { ok: false, error: err };
    }
    throw err;
  }
}

/** Every index of a block's rectangle lies within its values array (what writers and the core rely on). */
export function expectInside(block: Block): void {
  const { values, channelCount, stepCount, channelStride, stepStride } = block;
  expect(Number.isInteger(block.offset) && block.offset >= 0).toBe(true);
  expect(channelCount).toBeGreaterThanOrEqual(0);
  expect(stepCount).toBeGreaterThanOrEqual(0);
  if (channelCount === 0 || stepCount === 0) return;
  const last = channelStart(block, block.firstChannel + channelCount - 1) + (stepCount - 1) * stepStride;
  expect(channelStride).toBeGreaterThanOrEqual(0);
  expect(stepStride).toBeGreaterThanOrEqual(0);
  expect(last).toBeLessThan(values.length);
}

export interface Drained {
  readonly instances: number;
  readonly values: number;
  /** Per instance, per channel, the values in step order (only when `keep` is asked). */
  readonly series?: number[][][];
}

/**
 * Reads every block of a reader as the pipeline and writers would: values of each rectangle,
 * every pass-through cell as text and as a value, the messages' helpers (locate, describeInstance).
 * Checks the contract: rectangles inside their arrays, channels within the schema, instances in
 * order and contiguous, series in step order. Closes the reader.
 */
export async function drain(reader: SeriesReader, keep = false): Promise<Drained> {
  const { schema } = reader;
  let instances = 0;
  let values = 0;
  let last = -1;
  const series: number[][][] = [];
  try {
    for await (const group of reader.blocks()) {
      for (const b of group as readonly DataBlock[]) {
        expectInside(b);
        expect(b.firstChannel + b.channelCount).toBeLessThanOrEqual(schema.channels);
        expect(b.instance).toBeGreaterThanOrEqual(last);
        if (b.instance !== last) instances++;
        last = b.instance;
        for (let c = b.firstChannel; c < b.firstChannel + b.channelCount; c++) {
          const start = channelStart(b, c);
          const s = keep ? ((series[b.instance] ??= [])[c] ??= []) : undefined;
          if (s) expect(s.length).toBe(b.firstStep);
          let sum = 0;
          for (let t = 0; t < b.stepCount; t++) {
            const x = b.values[start + t * b.stepStride]!;
            sum += x;
            s?.push(x);
          }
          if (typeof sum !== 'number') throw new Error('values that are not numbers');
          values += b.stepCount;
        }
        for (const p of b.pass ?? []) {
          for (let i = 0; i < p.length; i++) {
            p.text(i);
            await cleanly(async () => p.value(i));
          }
        }
        if (b.channelCount > 0 && b.stepCount > 0) reader.locate(b, b.firstChannel, b.firstStep);
        schema.describeInstance?.(b.instance);
      }
    }
  } finally {
    await reader.close();
  }
  return keep ? { instances, values, series } : { instances, values };
}
