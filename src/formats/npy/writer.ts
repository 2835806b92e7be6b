import { type Block, type Values, channelStart } from '../../core/block.js';
import { TsnormError } from '../../errors.js';
import type { ByteSink } from '../../io/byte-sink.js';
import type { SeriesLayout, SeriesWriter } from '../types.js';
import { encode } from './dtype.js';
import { formatHeader } from './header.js';

/** Output bytes collected before each write call. */
const CHUNK_BYTES = 4 << 20;

/**
 * Writes (N, C, L) or (C, L) NPY, C order, little-endian float32 or float64. Blocks must arrive
 * in C order (instance, channel, step), as the NPY reader and the pipeline produce them. Values
 * are encoded into one of two buffers while the other is being written, so writing overlaps
 * the computation of the next group.
 */
export class NpyWriter implements SeriesWriter {
  private shape: number[] = [];
  private channels = 0;
  private steps = 0;
  private readonly buffers = [new Uint8Array(new ArrayBuffer(CHUNK_BYTES)), new Uint8Array(new ArrayBuffer(CHUNK_BYTES))];
  private inFlight: (Promise<void> | null)[] = [null, null];
  private which = 0;
  private fill = 0;
  /** Index, in the flat C-order output, of the next value expected. */
  private next = 0;
  private total = 0;
  private gather = new Float64Array(0);

  constructor(
    private readonly sink: ByteSink,
    private readonly descr: '<f4' | '<f8',
  ) {}

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
    if (layout.instances === undefined || layout.steps === undefined) {
      throw new TsnormError(`${this.name}: NPY output needs instances of equal length known in advance`);
    }
    this.channels = layout.channels;
    this.steps = layout.steps;
    this.shape = layout.unbatched ? [layout.channels, layout.steps] : [layout.instances, layout.channels, layout.steps];
    this.total = layout.instances * layout.channels * layout.steps;
    await this.sink.write(formatHeader(this.descr, this.shape));
  }

  async write(blocks: readonly Block[]): Promise<void> {
    for (const b of blocks) {
      const wholeSeries = b.firstStep === 0 && b.stepCount === this.steps;
      if (b.stepStride === 1 && (b.channelCount === 1 || (wholeSeries && b.channelStride === b.stepCount))) {
        // Channel-major and contiguous in the output: one run of values.
        const count = b.channelCount * b.stepCount;
        this.expect(b, b.firstChannel);
        await this.put(b.values, channelStart(b, b.firstChannel), count);
        this.next += count;
        continue;
      }
      for (let c = b.firstChannel; c < b.firstChannel + b.channelCount; c++) {
        this.expect(b, c);
        const start = channelStart(b, c);
        if (b.stepStride === 1) await this.put(b.values, start, b.stepCount);
        else await this.put(this.gathered(b, start), 0, b.stepCount);
        this.next += b.stepCount;
      }
    }
  }

  private expect(b: Block, c: number): void {
    const at = (b.instance * this.channels + c) * this.steps + b.firstStep;
    if (at !== this.next) throw new TsnormError(`${this.name}: internal: NPY output out of order (value ${at}, expected ${this.next})`);
  }

  async finish(): Promise<void> {
    if (this.next !== this.total) throw new TsnormError(`${this.name}: internal: wrote ${this.next} of ${this.total} values`);
    await this.flush();
    await Promise.all(this.inFlight);
    await this.sink.commit();
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    await this.sink.abort();
  }

  private gathered(b: Block, start: number): Float64Array {
    if (this.gather.length < b.stepCount) this.gather = new Float64Array(b.stepCount);
    for (let t = 0, i = start; t < b.stepCount; t++, i += b.stepStride) this.gather[t] = b.values[i]!;
    return this.gather;
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
    this.inFlight[this.which] = this.sink.write(buf);
    this.which ^= 1;
    this.fill = 0;
    // The other buffer is about to be refilled: its write must have completed.
    await this.inFlight[this.which];
    this.inFlight[this.which] = null;
  }
}
