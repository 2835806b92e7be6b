import { type Block, type Values, channelStart } from '../../core/block.js';
import { TsnormError, handled } from '../../errors.js';
import type { ByteSink } from '../../io/byte-sink.js';
import { SpoolSink } from '../../io/spool-sink.js';
import type { SeriesLayout, SeriesWriter } from '../types.js';
import { encode } from './dtype.js';
import { formatHeader } from './header.js';

/** Output bytes collected before each write call. */
const CHUNK_BYTES = 4 << 20;
/** Runs at least this long are written straight from the caller's array. */
const DIRECT_BYTES = 256 << 10;
/** Header size reserved when the shape is known only at the end (CSV input): room for any shape. */
const DEFERRED_HEADER_BYTES = 128;

/**
 * Writes (N, C, L) or (C, L) NPY, C order, little-endian float32 or float64. Channel-major blocks
 * must arrive in C order (instance, channel, step), as the NPY reader and the pipeline produce
 * them; time-major blocks (CSV rows) are collected per instance and written channel by channel.
 * When the shape is not known up front, the header is written last, into reserved space (through
 * a spool file for stdout). Values are encoded into one of two buffers while the other is being
 * written, so writing overlaps the computation of the next group.
 */
export class NpyWriter implements SeriesWriter {
  private channels = 0;
  /** Steps per instance: from the layout, or from the first instance when the shape is deferred. */
  private steps: number | undefined;
  private unbatched = false;
  private deferred = false;
  private instances = 0;
  /** The time-major instance being collected: its rows, C values each. */
  private collecting: { instance: number; rows: Float64Array; steps: number } | null = null;
  private lengthKnown = false;
  private describe: ((instance: number) => string) | undefined;
  private sink: ByteSink;
  private readonly buffers = [new Uint8Array(new ArrayBuffer(CHUNK_BYTES)), new Uint8Array(new ArrayBuffer(CHUNK_BYTES))];
  private inFlight: (Promise<void> | null)[] = [null, null];
  /** Writes straight from the current call's values arrays (the caller's previous array is then free). */
  private direct: Promise<void>[] = [];
  private which = 0;
  private fill = 0;
  /** Index, in the flat C-order output, of the next value expected. */
  private next = 0;
  private total = 0;

  constructor(
    sink: ByteSink,
    private readonly descr: '<f4' | '<f8',
  ) {
    this.sink = sink;
  }

  get name(): string {
    return this.sink.name;
  }

  get valueType(): 'float32' | 'float64' {
    return this.descr === '<f4' ? 'float32' : 'float64';
  }

  private get itemSize(): number {
    return this.descr === '<f4' ? 4 : 8;
  }

  async start(layout: SeriesLayout): Promise<void> {
    this.channels = layout.channels;
    this.describe = layout.describeInstance?.bind(layout);
    this.steps = layout.steps;
    this.unbatched = layout.unbatched;
    this.lengthKnown = layout.steps !== undefined;
    if (layout.instances !== undefined && layout.steps !== undefined) {
      this.total = layout.instances * layout.channels * layout.steps;
      await this.sink.write(formatHeader(this.descr, this.shapeOf(layout.instances, layout.steps)));
      return;
    }
    this.deferred = true;
    this.total = -1;
    if (!this.sink.writeAt) this.sink = new SpoolSink(this.sink);
    await this.sink.write(new Uint8Array(DEFERRED_HEADER_BYTES));
  }

  private shapeOf(instances: number, steps: number): number[] {
    return this.unbatched ? [this.channels, steps] : [instances, this.channels, steps];
  }

  async write(blocks: readonly Block[]): Promise<void> {
    const previous = this.direct;
    this.direct = [];
    for (const b of blocks) {
      // Rows of all channels (CSV), or pieces of unknown length: hold the instance until complete.
      if (b.stepStride !== 1 || !this.lengthKnown) await this.collect(b);
      else await this.writeChannelMajor(b);
    }
    await Promise.all(previous);
  }

  private async writeChannelMajor(b: Block): Promise<void> {
    const wholeSeries = b.firstStep === 0 && b.stepCount === this.steps;
    if (b.channelCount === 1 || (wholeSeries && b.channelStride === b.stepCount)) {
      // Contiguous in the output: one run of values.
      const count = b.channelCount * b.stepCount;
      const start = channelStart(b, b.firstChannel);
      this.expect(b, b.firstChannel);
      if (count * this.itemSize >= DIRECT_BYTES && (b.values instanceof Float32Array) === (this.descr === '<f4')) {
        // Already in the output's type: written from the caller's array, without a copy.
        await this.flush();
        const bytes = new Uint8Array(b.values.buffer, b.values.byteOffset + start * this.itemSize, count * this.itemSize);
        this.direct.push(handled(this.sink.write(bytes)));
      } else {
        await this.put(b.values, start, count);
      }
      this.next += count;
      return;
    }
    for (let c = b.firstChannel; c < b.firstChannel + b.channelCount; c++) {
      this.expect(b, c);
      await this.put(b.values, channelStart(b, c), b.stepCount);
      this.next += b.stepCount;
    }
  }

  private expect(b: Block, c: number): void {
    if (this.steps === undefined) this.steps = b.stepCount;
    const at = (b.instance * this.channels + c) * this.steps + b.firstStep;
    if (at !== this.next) throw new TsnormError(`${this.name}: internal: NPY output out of order (value ${at}, expected ${this.next})`);
    this.instances = Math.max(this.instances, b.instance + 1);
  }

  /** Rows of a time-major instance, held until it is complete. */
  private async collect(b: Block): Promise<void> {
    if (this.collecting && this.collecting.instance !== b.instance) await this.flushInstance();
    const C = this.channels;
    const pending = (this.collecting ??= { instance: b.instance, rows: new Float64Array(C * Math.max(16, b.stepCount)), steps: 0 });
    if (pending.rows.length < (pending.steps + b.stepCount) * C) {
      const grown = new Float64Array(Math.max(pending.rows.length * 2, (pending.steps + b.stepCount) * C));
      grown.set(pending.rows.subarray(0, pending.steps * C));
      pending.rows = grown;
    }
    for (let t = 0; t < b.stepCount; t++) {
      for (let c = 0; c < C; c++) pending.rows[(pending.steps + t) * C + c] = b.values[b.offset + c * b.channelStride + t * b.stepStride]!;
    }
    pending.steps += b.stepCount;
  }

  private async flushInstance(): Promise<void> {
    const pending = this.collecting;
    if (!pending) return;
    this.collecting = null;
    const L = pending.steps;
    if (this.steps === undefined) this.steps = L;
    if (L !== this.steps) {
      const name = (i: number): string => this.describe?.(i) ?? `instance ${i}`;
      throw new TsnormError(`${this.name}: NPY needs instances of equal length: ${name(0)} has ${this.steps} steps, ${name(pending.instance)} has ${L} ` +
        '(write CSV instead, or cut the series to one length)');
    }
    const C = this.channels;
    const values = new Float64Array(C * L);
    for (let t = 0; t < L; t++) for (let c = 0; c < C; c++) values[c * L + t] = pending.rows[t * C + c]!;
    await this.writeChannelMajor({ instance: pending.instance, values, offset: 0, channelStride: L, stepStride: 1, firstChannel: 0, channelCount: C, firstStep: 0, stepCount: L });
  }

  async finish(): Promise<void> {
    await this.flushInstance();
    if (this.total >= 0 && this.next !== this.total) throw new TsnormError(`${this.name}: internal: wrote ${this.next} of ${this.total} values`);
    await this.flush();
    await Promise.all([...this.inFlight, ...this.direct]);
    if (this.deferred) {
      const header = formatHeader(this.descr, this.shapeOf(this.instances, this.steps ?? 0), DEFERRED_HEADER_BYTES);
      if (header.length !== DEFERRED_HEADER_BYTES) throw new TsnormError(`${this.name}: internal: NPY header does not fit the reserved space`);
      await this.sink.writeAt!(header, 0);
    }
    await this.sink.commit();
  }

  async abort(): Promise<void> {
    await Promise.allSettled([...this.inFlight, ...this.direct]);
    await this.sink.abort();
  }

  /** Encodes values[start, start + count) into the current buffer, writing buffers out as they fill. */
  private async put(values: Values, start: number, count: number): Promise<void> {
    const size = this.itemSize;
    while (count > 0) {
      const room = (CHUNK_BYTES - this.fill) / size;
      const k = Math.min(room, count);
      this.fill += encode(values, start, k, this.descr, this.buffers[this.which]!, this.fill);
      start += k;
      count -= k;
      if (this.fill === CHUNK_BYTES) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.fill === 0) return;
    const buf = this.buffers[this.which]!.subarray(0, this.fill);
    this.inFlight[this.which] = handled(this.sink.write(buf));
    this.which ^= 1;
    this.fill = 0;
    // The other buffer is about to be refilled: its write must have completed.
    await this.inFlight[this.which];
    this.inFlight[this.which] = null;
  }
}
