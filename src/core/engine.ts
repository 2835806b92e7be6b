import { TsnormError } from '../errors.js';
import { type Block, type Values, channelStart } from './block.js';
import { ChannelMoments } from './moments.js';
import type { RunningStats } from './running-stats.js';
import { type Affine, ChannelTransform } from './transform.js';

export type NanPolicy = 'propagate' | 'ignore' | 'error';

export interface NormSettings {
  readonly channels: number;
  readonly eps: number;
  readonly affine?: Affine | undefined;
  /** torch's module.training */
  readonly training: boolean;
  /** Running stats to use (eval) or update (training); undefined: track_running_stats=False. */
  readonly running?: RunningStats | undefined;
  /** Instances per running-stats update; undefined: one update per input. */
  readonly batchSize?: number | undefined;
  readonly nan: NanPolicy;
  /** Eval only: map normalized values back to the input's units (the inverse of the transform). */
  readonly inverse?: boolean | undefined;
}

/** torch: F.instance_norm(use_input_stats = training or not track_running_stats). */
export function usesInstanceStats(training: boolean, tracksRunningStats: boolean): boolean {
  return training || !tracksRunningStats;
}

/**
 * InstanceNorm1d over blocks, with no I/O. For each instance the caller feeds its blocks to
 * `accumulate`, calls `finishStatistics`, then feeds them again to `transform` (statistics
 * first, transform second: the two passes). In eval mode with running stats there is one pass:
 * `transform` only. Batches of instances drive the running-stats updates.
 */
export class NormEngine {
  readonly usesInstanceStats: boolean;
  private readonly moments: ChannelMoments;
  private readonly transformer: ChannelTransform;
  private instancesInBatch = 0;
  private blankedSeries = 0;
  /** Channels of the current instance already counted in nanSeries. */
  private readonly blankedChannels: Uint8Array;

  constructor(readonly settings: NormSettings) {
    const { channels, running, training, eps, affine } = settings;
    this.usesInstanceStats = usesInstanceStats(training, running !== undefined);
    this.moments = new ChannelMoments(channels);
    this.transformer = new ChannelTransform(channels);
    this.blankedChannels = new Uint8Array(channels);
    if (!this.usesInstanceStats && running) {
      for (let c = 0; c < channels; c++) {
        if (settings.inverse) {
          if (affine && affine.weight[c] === 0)
            throw new TsnormError(`channel ${c}: weight 0 maps every value to the bias: it cannot be inverted`, 'TSNORM_PARAMS');
          this.transformer.setInverse(c, running.mean[c]!, running.var[c]!, eps, affine);
        } else {
          this.transformer.set(c, running.mean[c]!, running.var[c]!, eps, affine);
        }
      }
    } else if (settings.inverse) {
      throw new TsnormError('inverse maps values back with running statistics (eval): it needs them', 'TSNORM_USAGE');
    }
  }

  get running(): RunningStats | undefined {
    return this.settings.running;
  }

  /**
   * Series (instance, channel) that values made all NaN in the output, for the caller to report:
   * a NaN or an infinity with nan='propagate' (as torch does), an infinity with nan='ignore'
   * (which leaves out only missing values; a series with no value at all is not counted).
   */
  get nanSeries(): number {
    return this.blankedSeries;
  }

  /** Starts the statistics pass of a new instance. */
  startInstance(): void {
    this.moments.reset();
    this.blankedChannels.fill(0);
  }

  accumulate(block: Block): void {
    const skip = this.settings.nan === 'ignore';
    for (let c = block.firstChannel; c < block.firstChannel + block.channelCount; c++) {
      this.moments.add(c, block.values, channelStart(block, c), block.stepCount, block.stepStride, skip);
    }
  }

  /**
   * Ends the statistics pass of channels [firstChannel, firstChannel + channelCount): fixes their
   * transform for this instance. `steps` is the instance's length; `where` names it in errors.
   */
  finishStatistics(firstChannel: number, channelCount: number, steps: number, where: () => string): void {
    this.checkSteps(steps, where);
    const { eps, affine, nan } = this.settings;
    const m = this.moments;
    for (let c = firstChannel; c < firstChannel + channelCount; c++) {
      const mean = m.mean(c);
      const variance = m.scaledVariance(c);
      this.transformer.set(c, mean, variance, eps, affine, m.meanLow(c), m.scaleExponent[c]!);
      const blanked = nan === 'propagate' || (nan === 'ignore' && m.count[c]! > 0);
      if (blanked && (mean !== mean || variance !== variance) && this.blankedChannels[c] === 0) {
        this.blankedChannels[c] = 1;
        this.blankedSeries++;
      }
    }
  }

  /** Refuses series too short for instance statistics (before any output, when the length is known up front). */
  checkSteps(steps: number, where: () => string): void {
    if (this.usesInstanceStats && steps <= 1) {
      throw new TsnormError(
        `${where()}: ${steps} time step${steps === 1 ? '' : 's'}; normalizing with instance statistics (training) ` +
          `needs more than one time step per series (torch: "Expected more than 1 spatial element when training")`,
        'TSNORM_DATA',
      );
    }
  }

  /** Writes the normalized values of `block` into `out`, at the same indices. */
  transform(block: Block, out: Values): void {
    for (let c = block.firstChannel; c < block.firstChannel + block.channelCount; c++) {
      const start = channelStart(block, c);
      this.transformer.apply(c, block.values, start, block.stepStride, block.stepCount, out, start, block.stepStride);
    }
  }

  /** Call after each instance: records its statistics, and updates the running stats when a batch is complete. */
  finishInstance(): void {
    const { training, running } = this.settings;
    if (!training || !running) return;
    running.observe(this.moments);
    this.instancesInBatch++;
    if (this.settings.batchSize !== undefined && this.instancesInBatch >= this.settings.batchSize) this.finishBatch();
  }

  /** Call at the end of each input (one forward call): the last, possibly partial, batch. */
  finishBatch(): void {
    if (this.instancesInBatch > 0) this.settings.running?.update();
    this.instancesInBatch = 0;
  }
}
