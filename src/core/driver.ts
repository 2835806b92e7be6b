import { TsnormError } from '../errors.js';
import { type Block, type Values, findNaN } from './block.js';
import type { NormEngine } from './engine.js';

export interface DriverOptions {
  /** The input's name, leading messages (none for arrays in memory). */
  readonly source?: string | undefined;
  /** --nan error: refuse the first missing value. */
  readonly nanIsError: boolean;
  /** How messages name an instance. */
  readonly instanceName: (instance: number) => string;
  /** Where channel c, step t of a block is, for messages ("byte 1234", "line 7, column 'ax'"). */
  readonly locate: (block: Block, channel: number, step: number) => string;
}

/**
 * Drives a NormEngine over blocks in input order, the same way for the library (arrays in memory)
 * and the command line (blocks from files): instances begin where the block's instance changes,
 * statistics accumulate as blocks are seen, units of channels are finished when complete, then
 * transformed; running statistics are updated per instance and per batch. One place, so the two
 * give the same numbers and the same errors.
 */
export class EngineDriver {
  private instance = -1;
  private instances = 0;

  constructor(
    readonly engine: NormEngine,
    private readonly options: DriverOptions,
  ) {}

  /** Instances finished so far. */
  get finishedInstances(): number {
    return this.instances;
  }

  /** A block of the statistics pass (instance statistics). */
  see(block: Block): void {
    if (block.instance !== this.instance) {
      this.instance = block.instance;
      this.engine.startInstance();
    }
    this.check(block);
    this.engine.accumulate(block);
  }

  /** Channels [firstChannel, firstChannel + channelCount) of `instance` are complete: their statistics are fixed. */
  finishUnit(instance: number, firstChannel: number, channelCount: number, steps: number): void {
    this.engine.finishStatistics(firstChannel, channelCount, steps, () => this.prefix() + this.options.instanceName(instance));
  }

  /** The normalized values of `block` into `out` at the same indices (eval: checks it first). */
  transform(block: Block, out: Values): void {
    if (!this.engine.usesInstanceStats) this.check(block);
    this.engine.transform(block, out);
  }

  /** The instance is done: its statistics go to the running stats (training). */
  endInstance(): void {
    this.engine.finishInstance();
    this.instances++;
  }

  /** The end of one input (one forward call): the last, possibly partial, batch. */
  endInput(): void {
    this.engine.finishBatch();
  }

  private prefix(): string {
    return this.options.source === undefined ? '' : `${this.options.source}: `;
  }

  private check(block: Block): void {
    if (!this.options.nanIsError) return;
    const at = findNaN(block);
    if (at) {
      const [c, t] = at;
      throw new TsnormError(
        `${this.prefix()}missing value at ${this.options.locate(block, c, t)} (${this.options.instanceName(block.instance)}, channel ${c}, step ${t}) and --nan error`,
        'TSNORM_DATA',
      );
    }
  }
}
