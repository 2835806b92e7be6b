import { TsnormError } from '../errors.js';
import type { DataBlock, Schema, SeriesReader } from '../formats/types.js';
import { BlockSpill } from './block-spill.js';
import { blockBytes, ownedCopy } from './blocks.js';

/**
 * Channels [firstChannel, firstChannel + channelCount) of one instance, complete: its statistics
 * are known once all its blocks were seen. `replay` gives the blocks again for the second pass:
 * from memory, from a spill file, or re-read from the input.
 */
export interface Unit {
  readonly instance: number;
  readonly firstChannel: number;
  readonly channelCount: number;
  readonly steps: number;
  /** The instance's last unit. */
  readonly endsInstance: boolean;
  /**
   * Replayed from a spill or re-read: each block must be used before the next is asked for (a
   * re-read may refill one buffer for each of them).
   */
  readonly streamed: boolean;
  replay(): AsyncIterable<DataBlock>;
  release(): Promise<void>;
}

interface Pending {
  readonly instance: number;
  readonly firstChannel: number;
  readonly channelCount: number;
  steps: number;
  held: DataBlock[];
  bytes: number;
  spill: BlockSpill | null;
  reread: boolean;
}

/**
 * Groups a reader's blocks into units, in one place for every format: rows (time-major) make
 * one unit per instance, complete when the next instance begins; series (channel-major) make a
 * unit per run of whole series. What a unit holds beyond `holdBytes` goes to a spill file, or is
 * dropped to be re-read when the input can re-read it. The caller accumulates statistics as
 * blocks arrive: call `before(b)` (units the arrival of b completes), then `accept(b)`.
 */
export class UnitAssembler {
  private current: Pending | null = null;
  private readonly spills: BlockSpill[] = [];

  constructor(
    private readonly reader: SeriesReader,
    private readonly holdBytes: number,
  ) {}

  private get schema(): Schema {
    return this.reader.schema;
  }

  /** Units that end because block `b` begins another instance (rows). */
  before(b: DataBlock): Unit[] {
    const p = this.current;
    if (!p || p.instance === b.instance) return [];
    if (this.schema.orientation === 'series') {
      throw new Error(`${this.reader.name}: series of instance ${p.instance} ended after ${p.steps} steps, before the series was complete`);
    }
    return [this.complete(true)];
  }

  /** Takes `b` into the unit under way; returns the units it completes (series). */
  accept(b: DataBlock): Unit[] {
    if (this.schema.orientation === 'rows') {
      this.current ??= this.pending(b.instance, 0, this.schema.channels);
      this.hold(b);
      return [];
    }
    const steps = b.instanceSteps ?? this.schema.steps;
    if (steps === undefined) throw new Error(`${this.reader.name}: a series block without its instance's length`);
    if (!this.current && b.firstStep === 0 && b.stepCount === steps) {
      // Whole series: a unit by itself, used before the reader's next group.
      const held = [b];
      return [
        {
          instance: b.instance,
          firstChannel: b.firstChannel,
          channelCount: b.channelCount,
          steps,
          endsInstance: b.firstChannel + b.channelCount === this.schema.channels,
          streamed: false,
          async *replay() {
            yield* held;
          },
          async release() {},
        },
      ];
    }
    const p = (this.current ??= this.pending(b.instance, b.firstChannel, b.channelCount));
    if (b.firstChannel !== p.firstChannel || b.firstStep !== p.steps) {
      throw new Error(`${this.reader.name}: series block out of order (instance ${b.instance}, channel ${b.firstChannel}, step ${b.firstStep})`);
    }
    this.hold(b);
    return p.steps === steps ? [this.complete(p.firstChannel + p.channelCount === this.schema.channels)] : [];
  }

  /**
   * The reader is about to refill its buffers: blocks held beyond this group are copied out of
   * them (units completed within the group were used already).
   */
  endOfGroup(): void {
    const p = this.current;
    // Each block once: copying the copies again at every group made a long series quadratic
    // in time and memory.
    if (p && this.reader.reusesBuffers) {
      p.held = p.held.map((b) => {
        if (this.owned.has(b)) return b;
        const copy = ownedCopy(b);
        this.owned.add(copy);
        return copy;
      });
    }
  }

  /** The last unit, at the end of the input. */
  finish(): Unit[] {
    const p = this.current;
    if (!p) return [];
    if (this.schema.orientation === 'series')
      throw new TsnormError(`${this.reader.name}: the input ends within a series of instance ${p.instance}`, 'TSNORM_DATA');
    return [this.complete(true)];
  }

  /** Blocks copied out of the reader's buffers already. */
  private readonly owned = new WeakSet<DataBlock>();

  /** Removes spill files left (after an error). */
  async close(): Promise<void> {
    for (const s of this.spills.splice(0)) await s.remove();
  }

  private pending(instance: number, firstChannel: number, channelCount: number): Pending {
    return { instance, firstChannel, channelCount, steps: 0, held: [], bytes: 0, spill: null, reread: false };
  }

  private hold(b: DataBlock): void {
    const p = this.current!;
    p.steps += b.stepCount;
    if (p.reread) return;
    if (p.spill) {
      p.spill.write(b);
      return;
    }
    p.held.push(b);
    p.bytes += blockBytes(b);
    if (p.bytes <= this.holdBytes) return;
    // Too large to hold: read it again from the input if it can, else spill what is held and the rest.
    if (this.schema.orientation === 'series' && this.reader.rereadable) {
      p.reread = true;
    } else {
      p.spill = new BlockSpill();
      this.spills.push(p.spill);
      for (const h of p.held) p.spill.write(h);
    }
    p.held = [];
    p.bytes = 0;
  }

  private complete(endsInstance: boolean): Unit {
    const p = this.current!;
    this.current = null;
    const { reader, spills } = this;
    const { held, spill } = p;
    return {
      instance: p.instance,
      firstChannel: p.firstChannel,
      channelCount: p.channelCount,
      steps: p.steps,
      endsInstance,
      streamed: p.reread || spill !== null,
      async *replay() {
        if (p.reread) {
          const again = reader.reread?.(p.instance, p.firstChannel, p.channelCount);
          if (!again) throw new Error(`${reader.name}: cannot re-read instance ${p.instance}`);
          yield* again;
        } else if (spill) {
          yield* spill.read();
        } else {
          yield* held;
        }
      },
      async release() {
        if (!spill) return;
        spills.splice(spills.indexOf(spill), 1);
        await spill.remove();
      },
    };
  }
}
