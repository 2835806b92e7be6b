import fs from 'node:fs';
import { allocateBytes, releaseValues } from '../../core/kernels/kernels.js';
import { TsnormError, handled } from '../../errors.js';
import { type ByteSource, openInput, readFully } from '../../io/byte-source.js';
import { createScratchFile, removeTempFile, writeScratch } from '../../io/temp-files.js';
import { type ColumnSpec, type DataBlock, type Location, type Schema, type SeriesReader, locationText } from '../types.js';
import { type NpyDtype, decodeValues, parseDtype } from './dtype.js';
import { roundedIntegerMessage, roundedToDouble } from '../number-text.js';
import { NpyHeaderError, PREAMBLE_BYTES, headerLength, parseHeader } from './header.js';

export interface NpyReaderOptions {
  /** Most values held in memory per group (each 8 bytes as float64). */
  budget?: number;
  /** A value float64 cannot hold exactly (an int64 beyond 2^53) is an error (convert). */
  exact?: boolean;
}

/** Most instances per group, however small they are. */
const MAX_GROUP_INSTANCES = 4096;

/** About 8 MB of float64 per group: big reads, small memory. */
export const DEFAULT_BUDGET = 1 << 20;

/**
 * Most channels accepted. Each channel's statistics are set aside in memory before any data is
 * read, so an empty array, or a pipe whose data is yet to come, could otherwise ask for any amount.
 */
export const MAX_CHANNELS = 1 << 24;

/** Raw bytes of one group, and (for types other than float32/64) their values decoded to float64. */
class GroupBuffer {
  /** In the kernels' memory, so float32 data goes to the SIMD kernels without a copy. */
  readonly raw: Uint8Array;
  private values: Float64Array | undefined;
  constructor(
    private readonly count: number,
    size: number,
  ) {
    this.raw = allocateBytes(count * size);
  }
  decoded(): Float64Array {
    this.values ??= new Float64Array(this.count);
    return this.values;
  }
  release(): void {
    releaseValues(this.raw);
  }
}

/** A run of the flat C-order data [start, start + count), cut so that it lies in one instance. */
interface Span {
  readonly instance: number;
  readonly firstChannel: number;
  readonly channelCount: number;
  readonly firstStep: number;
  readonly stepCount: number;
}

/**
 * Reads an NPY file as (N, C, L) in C order, a group of whole instances, whole series or pieces
 * of one series at a time (whichever fits the budget), so memory does not grow with the file.
 * Fortran-order data is first transposed in tiles into a C-order temporary file.
 */
export class NpyReader implements SeriesReader {
  readonly schema: Schema;
  /** Group buffers alternate: a block's values are valid until the next group is read. */
  readonly reusesBuffers = true;
  private readonly n: number;
  private readonly c: number;
  private readonly l: number;
  private readonly budget: number;
  private readonly temps: string[] = [];
  private readonly buffers: GroupBuffer[] = [];
  private rereadBuffer: GroupBuffer | undefined;
  /** Where the C-order data is read from, and at which byte it starts. */
  private body: ByteSource;
  private bodyStart: number;
  private streamConsumed = false;

  private constructor(
    private readonly source: ByteSource,
    readonly dtype: NpyDtype,
    private readonly shape: readonly number[],
    private readonly dataOffset: number,
    private readonly fortran: boolean,
    budget: number,
    private readonly exact = false,
  ) {
    const [n, c, l] = shape.length === 3 ? (shape as [number, number, number]) : [1, shape[0]!, shape[1]!];
    this.n = n;
    this.c = c;
    this.l = l;
    this.budget = Math.max(1, budget);
    this.body = source;
    this.bodyStart = dataOffset;
    const unbatched = shape.length === 2;
    // NPY has no columns besides the values: the instance and the step are made up for formats that want them.
    const columns: ColumnSpec[] = [
      ...(unbatched ? [] : [{ name: 'id', type: 'int64', role: 'id', generated: 'instance' } as const]),
      { name: 't', type: 'int64', role: 'pass', generated: 'step' },
      ...Array.from({ length: c }, (_, k): ColumnSpec => ({ name: `c${k}`, type: dtype.type, role: 'channel' })),
    ];
    this.schema = { columns, channels: c, instances: n, steps: l, unbatched, valueType: dtype.type, orientation: 'series' };
  }

  get name(): string {
    return this.source.name;
  }

  static async open(source: ByteSource, options: NpyReaderOptions = {}): Promise<NpyReader> {
    const fail = (what: string): never => {
      throw new TsnormError(`${source.name}: ${what}`, 'TSNORM_NPY');
    };
    try {
      const pre = new Uint8Array(PREAMBLE_BYTES);
      const got = await readFully(source, pre, 0, PREAMBLE_BYTES, 0);
      const total = headerLength(pre.subarray(0, got));
      const head = new Uint8Array(total);
      head.set(pre.subarray(0, Math.min(got, total)));
      if (total > got) {
        const more = await readFully(source, head, got, total - got, got);
        if (more < total - got) fail('file too short to be NPY (truncated header)');
      }
      const header = parseHeader(head);
      const dtype = parseDtype(header.descr);
      const { shape } = header;
      if (shape.length !== 2 && shape.length !== 3) {
        fail(`expected a 2-D (C, L) or 3-D (N, C, L) array, got a ${shape.length}-D array of shape (${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
      }
      const shapeName = `shape (${shape.join(', ')})`;
      // Zero dimensions aside, the size must be exact as a number (numpy's "array is too big", at 2^53).
      const describedBytes = shape.reduce((a, d) => a * Math.max(d, 1), dtype.size);
      if (describedBytes > Number.MAX_SAFE_INTEGER) fail(`${shapeName} of ${header.descr} is too large: more than 2^53 bytes`);
      const channels = shape.length === 3 ? shape[1]! : shape[0]!;
      if (channels > MAX_CHANNELS) {
        fail(`${shapeName} has ${channels} channels: more than tsnorm supports (at most ${MAX_CHANNELS})`);
      }
      const dataBytes = shape.reduce((a, b) => a * b, 1) * dtype.size;
      if (source.size !== undefined) {
        const have = source.size - header.dataOffset;
        const shapeText = `${shapeName} of ${header.descr} needs ${dataBytes} data bytes`;
        if (have < dataBytes) fail(`truncated: ${shapeText}, the file has ${have} (ends at byte ${source.size})`);
        if (have > dataBytes) fail(`${have - dataBytes} unexpected bytes after the data: ${shapeText}, the file has ${have}`);
      }
      // An empty array has nothing to transpose: its tile would be a row of every series, of any size.
      const fortran = header.fortranOrder && shapeIsStrided(shape) && dataBytes > 0;
      const reader = new NpyReader(source, dtype, shape, header.dataOffset, fortran, options.budget ?? DEFAULT_BUDGET, options.exact ?? false);
      return reader;
    } catch (err) {
      if (err instanceof NpyHeaderError) throw new TsnormError(`${source.name}: ${err.message}`, 'TSNORM_NPY');
      throw err;
    }
  }

  locate(block: DataBlock, channel: number, step: number): Location {
    const { n, c, l } = this;
    const instance = block.instance;
    const index = this.fortran ? (this.shape.length === 3 ? instance + n * channel + n * c * step : channel + c * step) : (instance * c + channel) * l + step;
    return { byte: this.dataOffset + index * this.dtype.size };
  }

  async *blocks(): AsyncIterable<readonly DataBlock[]> {
    for await (const group of this.groups()) yield group.blocks;
  }

  /** From a file (or a transposed copy of one) the data can be read again; from a pipe it cannot. */
  get rereadable(): boolean {
    return this.body.seekable;
  }

  async close(): Promise<void> {
    await this.source.close();
    if (this.body !== this.source) await this.body.close();
    for (const t of this.temps) await removeTempFile(t);
    for (const b of this.buffers.splice(0)) b.release();
  }

  /** Groups of blocks covering the data in order: whole instances, whole series or series pieces. */
  private async *groups(): AsyncIterable<{ blocks: DataBlock[] }> {
    await this.prepareBody();
    const spans = this.plan();
    const buffers = [this.allocate(), this.allocate()];
    let which = 0;
    let position = this.bodyStart;
    let next: Promise<{ blocks: DataBlock[] }> | null = null;
    const load = (group: Span[], buf: GroupBuffer) => {
      const count = group.reduce((a, s) => a + s.channelCount * s.stepCount, 0);
      const at = position;
      position += count * this.dtype.size;
      return handled(this.readGroup(group, count, at, buf));
    };
    const iterator = spans[Symbol.iterator]();
    let pending = iterator.next();
    if (!pending.done) next = load(pending.value, buffers[which]!);
    while (next) {
      const current: { blocks: DataBlock[] } = await next;
      pending = iterator.next();
      which ^= 1;
      next = pending.done ? null : load(pending.value, buffers[which]!);
      yield current;
    }
    await this.checkStreamEnd();
  }

  private allocate(count = Math.min(this.budget, Math.max(1, this.n * this.c * this.l))): GroupBuffer {
    const buf = new GroupBuffer(count, this.dtype.size);
    this.buffers.push(buf);
    return buf;
  }

  private async readGroup(group: Span[], count: number, position: number, buf: GroupBuffer): Promise<{ blocks: DataBlock[] }> {
    await this.readRaw(group[0]!, count, position, buf.raw);
    return this.decodeGroup(group, count, buf);
  }

  /** Reads `count` elements' raw bytes; a short read means the file ends early. */
  private async readRaw(first: Span, count: number, position: number, raw: Uint8Array): Promise<void> {
    const bytes = count * this.dtype.size;
    const got = await readFully(this.body, raw, 0, bytes, position);
    if (got < bytes) {
      throw new TsnormError(
        `${this.name}: truncated: the data ends after byte ${this.dataOffset + (position - this.bodyStart) + got}, ` +
          `but shape (${this.shape.join(', ')}) needs ${this.n * this.c * this.l * this.dtype.size} data bytes (instance ${first.instance})`,
        'TSNORM_NPY',
      );
    }
  }

  private decodeGroup(group: Span[], count: number, buf: GroupBuffer): { blocks: DataBlock[] } {
    const values = decodeValues(this.dtype, buf.raw, count, () => buf.decoded());
    let offset = 0;
    const blocks = group.map((s): DataBlock => {
      const b: DataBlock = {
        instance: s.instance,
        values,
        offset,
        channelStride: this.l,
        stepStride: 1,
        firstChannel: s.firstChannel,
        channelCount: s.channelCount,
        firstStep: s.firstStep,
        stepCount: s.stepCount,
      };
      offset += s.channelCount * s.stepCount;
      return b;
    });
    if (this.exact && this.dtype.size === 8 && this.dtype.kind !== 'f') this.refuseRounded(blocks, buf.raw);
    return { blocks };
  }

  /** An int64/uint64 value that float64 rounded (beyond 2^53): refused, at its byte. */
  private refuseRounded(blocks: DataBlock[], raw: Uint8Array): void {
    for (const b of blocks) {
      const count = b.channelCount * b.stepCount;
      const ints =
        this.dtype.kind === 'u'
          ? new BigUint64Array(raw.buffer, raw.byteOffset, b.offset + count)
          : new BigInt64Array(raw.buffer, raw.byteOffset, b.offset + count);
      for (let j = b.offset; j < b.offset + count; j++) {
        const x = b.values[j]!;
        if (!roundedToDouble(ints[j]!, x)) continue;
        const k = j - b.offset;
        const channel = b.firstChannel + Math.floor(k / b.stepCount);
        throw new TsnormError(
          `${this.name}: ${locationText(this.locate(b, channel, b.firstStep + (k % b.stepCount)))}: ${roundedIntegerMessage(String(ints[j]))}`,
          'TSNORM_NPY',
        );
      }
    }
  }

  /** The spans of each group: several whole instances, several whole series, or one piece of a series. */
  private *plan(): Iterable<Span[]> {
    const { n, c, l, budget } = this;
    if (n * c * l === 0) return;
    if (c * l <= budget) {
      // Each instance of a group becomes objects (spans, blocks, units): millions of tiny
      // instances in one group would hold hundreds of MB of them.
      const per = Math.min(Math.floor(budget / (c * l)), MAX_GROUP_INSTANCES);
      for (let i = 0; i < n; i += per) {
        const group: Span[] = [];
        for (let k = i; k < Math.min(n, i + per); k++) group.push({ instance: k, firstChannel: 0, channelCount: c, firstStep: 0, stepCount: l });
        yield group;
      }
    } else if (l <= budget) {
      const per = Math.floor(budget / l);
      for (let q = 0; q < n * c; q += per) {
        const group: Span[] = [];
        for (let k = q; k < Math.min(n * c, q + per); k++) {
          group.push({ instance: Math.floor(k / c), firstChannel: k % c, channelCount: 1, firstStep: 0, stepCount: l });
        }
        yield group;
      }
    } else {
      for (let q = 0; q < n * c; q++) {
        for (let t = 0; t < l; t += budget) {
          yield [{ instance: Math.floor(q / c), firstChannel: q % c, channelCount: 1, firstStep: t, stepCount: Math.min(budget, l - t) }];
        }
      }
    }
  }

  /**
   * Channels [firstChannel, firstChannel + channelCount) of an instance again, a piece of a
   * series at a time (the series that were longer than memory), from the file: no spill needed.
   * All pieces share one buffer: each is used before the next is read.
   */
  async *reread(instance: number, firstChannel: number, channelCount: number): AsyncIterable<DataBlock> {
    const { l, budget } = this;
    const size = this.dtype.size;
    const buf = (this.rereadBuffer ??= this.allocate(budget));
    for (let channel = firstChannel; channel < firstChannel + channelCount; channel++) {
      const seriesStart = this.bodyStart + (instance * this.c + channel) * l * size;
      for (let t = 0; t < l; t += budget) {
        const span = { instance, firstChannel: channel, channelCount: 1, firstStep: t, stepCount: Math.min(budget, l - t) };
        await this.readRaw(span, span.stepCount, seriesStart + t * size, buf.raw);
        yield this.decodeGroup([span], span.stepCount, buf).blocks[0]!;
      }
    }
  }

  /** For Fortran order: a C-order copy in a temporary file. A pipe is first copied to a file. */
  private async prepareBody(): Promise<void> {
    if (!this.fortran || this.body !== this.source) {
      if (this.streamConsumed && !this.source.seekable) throw new TsnormError(`${this.name}: internal: stream read twice`, 'TSNORM_NPY');
      this.streamConsumed = true;
      return;
    }
    let input = this.source;
    let inputStart = this.dataOffset;
    if (!input.seekable) {
      const copy = createScratchFile('input');
      this.temps.push(copy.path);
      const chunk = new Uint8Array(1 << 20);
      let size = 0;
      try {
        for (let n: number; (n = await input.read(chunk, 0, chunk.length, 0)) > 0; size += n) writeScratch(copy.fd, chunk, 0, n, null);
      } finally {
        fs.closeSync(copy.fd);
      }
      const total = this.n * this.c * this.l * this.dtype.size;
      if (size !== total) {
        throw new TsnormError(
          `${this.name}: ${size < total ? 'truncated' : `${size - total} unexpected bytes after the data`}: ` +
            `shape (${this.shape.join(', ')}) of ${this.dtype.descr} needs ${total} data bytes, the input has ${size}`,
          'TSNORM_NPY',
        );
      }
      input = await openInput(copy.path);
      inputStart = 0;
    }
    const out = createScratchFile('c-order');
    this.temps.push(out.path);
    await transposeFortran(input, inputStart, out.fd, this.n * this.c, this.l, this.dtype.size, this.shape.length === 3 ? this.n : this.c, this.budget);
    if (input !== this.source) await input.close();
    this.body = await openInput(out.path);
    this.bodyStart = 0;
  }

  private async checkStreamEnd(): Promise<void> {
    if (this.body.seekable) return;
    const probe = new Uint8Array(1);
    if ((await this.body.read(probe, 0, 1, 0)) > 0) {
      const total = this.n * this.c * this.l * this.dtype.size;
      throw new TsnormError(
        `${this.name}: unexpected bytes after the data: shape (${this.shape.join(', ')}) of ${this.dtype.descr} needs ${total} data bytes`,
        'TSNORM_NPY',
      );
    }
  }
}

/** Fortran order matters only when more than one axis has extent > 1 before the last. */
function shapeIsStrided(shape: readonly number[]): boolean {
  return shape.filter((d) => d > 1).length > 1;
}

/**
 * Fortran (N, C, L) data is L rows of N*C elements, row element n + N*c. Writes it in C order
 * (series n*C + c, each of L steps) to the file `fd` (closed at the end), a tile of rows at a time.
 * `lead` is the extent of the fastest axis (N for 3-D, C for 2-D).
 */
async function transposeFortran(
  src: ByteSource,
  start: number,
  fd: number,
  series: number,
  steps: number,
  size: number,
  lead: number,
  budget: number,
): Promise<void> {
  const rowBytes = series * size;
  const rows = Math.max(1, Math.min(steps, Math.floor((budget * 8) / rowBytes)));
  const tile = new Uint8Array(rows * rowBytes);
  const piece = new Uint8Array(rows * size);
  const other = series / lead;
  try {
    for (let t0 = 0; t0 < steps; t0 += rows) {
      const k = Math.min(rows, steps - t0);
      await readFully(src, tile, 0, k * rowBytes, start + t0 * rowBytes);
      for (let f = 0; f < series; f++) {
        // Fortran position f = i + lead * j  ->  C-order series i * other + j
        const i = f % lead;
        const j = Math.floor(f / lead);
        const q = i * other + j;
        for (let r = 0; r < k; r++) {
          const from = r * rowBytes + f * size;
          for (let b = 0; b < size; b++) piece[r * size + b] = tile[from + b]!;
        }
        writeScratch(fd, piece, 0, k * size, (q * steps + t0) * size);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
