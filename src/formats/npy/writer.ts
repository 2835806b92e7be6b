import { type Values, channelStart } from '../../core/block.js';
import { TsnormError, handled } from '../../errors.js';
import type { ByteSink } from '../../io/byte-sink.js';
import { SpoolSink } from '../../io/spool-sink.js';
import type { DataBlock, Schema, SeriesWriter } from '../types.js';
import { type OutputDescr, encode, outputDescr } from './dtype.js';
import { formatHeader } from './header.js';

/** Output bytes collected before each write call. */
const CHUNK_BYTES = 4 << 20;
/** Runs at least this long are written straight from the caller's array. */
const DIRECT_BYTES = 256 << 10;
/** Header size reserved when the shape is known only at the end (CSV input): room for any shape. */
const DEFERRED_HEADER_BYTES = 128;

/**
 * Writes (N, C, L) or (C, L) NPY, C order, little-endian float32 or float64. Series blocks arrive
 * in C order (instance, channel, step): the pipeline re-blocks rows (CSV, Arrow) into series.
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

  /** NPY takes whole series (or pieces of them) in C order; it has no place for other columns. */
  readonly needs = { orientation: 'series', wholeInstances: false, passThrough: false } as const;
  private descr: OutputDescr = '<f8';

  /**
   * `dtype`: the output's; default float64 for float64 input, float32 otherwise, or with
   * `keepTypes` the input's own type (float16 as float32).
   */
  constructor(
    sink: ByteSink,
    private readonly dtype?: 'float32' | 'float64',
    private readonly keepTypes = false,
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
    return Number(this.descr.slice(2));
  }

  async start(schema: Schema): Promise<void> {
    this.descr =
      !this.dtype && this.keepTypes
        ? outputDescr(schema.valueType)
        : (this.dtype ?? (schema.valueType === 'float64' ? 'float64' : 'float32')) === 'float32'
          ? '<f4'
          : '<f8';
    this.channels = schema.channels;
    this.describe = schema.describeInstance?.bind(schema);
    this.steps = schema.steps;
    this.unbatched = schema.unbatched;
    if (schema.instances !== undefined && schema.steps !== undefined) {
      this.total = schema.instances * schema.channels * schema.steps;
      await this.sink.write(formatHeader(this.descr, this.shapeOf(schema.instances, schema.steps)));
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

  async write(blocks: readonly DataBlock[]): Promise<void> {
    const previous = this.direct;
    this.direct = [];
    for (const b of blocks) await this.writeChannelMajor(b);
    await Promise.all(previous);
  }

  private async writeChannelMajor(b: DataBlock): Promise<void> {
    if (b.firstStep === 0 && b.firstChannel === 0) this.checkLength(b);
    const wholeSeries = b.firstStep === 0 && b.stepCount === this.steps;
    if (b.channelCount === 1 || (wholeSeries && b.channelStride === b.stepCount)) {
      // Contiguous in the output: one run of values.
      const count = b.channelCount * b.stepCount;
      const start = channelStart(b, b.firstChannel);
      this.expect(b, b.firstChannel);
      if (
        count * this.itemSize >= DIRECT_BYTES &&
        (this.descr === '<f4' ? b.values instanceof Float32Array : this.descr === '<f8' && b.values instanceof Float64Array)
      ) {
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

  private expect(b: DataBlock, c: number): void {
    if (this.steps === undefined) this.steps = b.stepCount;
    const at = (b.instance * this.channels + c) * this.steps + b.firstStep;
    if (at !== this.next) throw new TsnormError(`${this.name}: internal: NPY output out of order (value ${at}, expected ${this.next})`, 'TSNORM_OUTPUT');
    this.instances = Math.max(this.instances, b.instance + 1);
  }

  /** All instances must have one length: the first instance's (or the shape's). */
  private checkLength(b: DataBlock): void {
    const L = b.instanceSteps ?? this.steps;
    if (L === undefined) return;
    if (this.steps === undefined) this.steps = L;
    if (L !== this.steps) {
      const name = (i: number): string => this.describe?.(i) ?? `instance ${i}`;
      throw new TsnormError(
        `${this.name}: NPY needs instances of equal length: ${name(0)} has ${this.steps} steps, ${name(b.instance)} has ${L} ` +
          '(write CSV or Arrow instead, or cut the series to one length)',
        'TSNORM_OUTPUT',
      );
    }
  }

  async finish(): Promise<void> {
    if (this.total >= 0 && this.next !== this.total)
      throw new TsnormError(`${this.name}: internal: wrote ${this.next} of ${this.total} values`, 'TSNORM_OUTPUT');
    await this.flush();
    await Promise.all([...this.inFlight, ...this.direct]);
    if (this.deferred) {
      const header = formatHeader(this.descr, this.shapeOf(this.instances, this.steps ?? 0), DEFERRED_HEADER_BYTES);
      if (header.length !== DEFERRED_HEADER_BYTES) throw new TsnormError(`${this.name}: internal: NPY header does not fit the reserved space`, 'TSNORM_OUTPUT');
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
    const first = start;
    while (count > 0) {
      const room = (CHUNK_BYTES - this.fill) / size;
      const k = Math.min(room, count);
      const missing = encode(values, start, k, this.descr, this.buffers[this.which]!, this.fill);
      if (missing >= 0) throw this.missingError(this.next + (start - first) + missing);
      this.fill += k * size;
      start += k;
      count -= k;
      if (this.fill === CHUNK_BYTES) await this.flush();
    }
  }

  /** Value i of the output (C order) is missing: an integer type has no NaN. */
  private missingError(i: number): TsnormError {
    const L = this.steps ?? 1;
    const instance = Math.floor(i / (this.channels * L));
    const where = `${this.describe?.(instance) ?? `instance ${instance}`}, channel ${Math.floor(i / L) % this.channels}, step ${i % L}`;
    return new TsnormError(
      `${this.name}: ${where}: a missing value, which an integer array (${this.descr.slice(1)}) cannot hold: give --dtype float64`,
      'TSNORM_OUTPUT',
    );
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
