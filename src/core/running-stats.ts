import type { ChannelMoments } from './moments.js';

/** `cumulative` is BatchNorm's momentum=None: an equal-weight average over all batches. */
export type Momentum = number | 'cumulative';

/**
 * Running statistics as torch keeps them for InstanceNorm1d(track_running_stats=True): after
 * each batch, running = (1 - momentum) * running + momentum * (mean over the batch's instances
 * of their mean, resp. unbiased variance).
 */
export class RunningStats {
  readonly mean: Float64Array;
  readonly var: Float64Array;
  numBatchesTracked: number;
  private readonly batchMean: Float64Array;
  private readonly batchVar: Float64Array;
  private batchInstances = 0;

  constructor(
    readonly channels: number,
    readonly momentum: Momentum,
    init?: { mean: ArrayLike<number>; var: ArrayLike<number>; numBatchesTracked?: number },
  ) {
    this.mean = init ? Float64Array.from(init.mean) : new Float64Array(channels);
    this.var = init ? Float64Array.from(init.var) : new Float64Array(channels).fill(1);
    this.numBatchesTracked = init?.numBatchesTracked ?? 0;
    this.batchMean = new Float64Array(channels);
    this.batchVar = new Float64Array(channels);
  }

  /** Records one instance's statistics into the batch under way. */
  observe(moments: ChannelMoments): void {
    for (let c = 0; c < this.channels; c++) {
      this.batchMean[c]! += moments.mean(c);
      this.batchVar[c]! += moments.unbiasedVariance(c);
    }
    this.batchInstances++;
  }

  /** Whether instances were observed since the last update. */
  get pending(): boolean {
    return this.batchInstances > 0;
  }

  /** Ends the batch: one update with the batch's average statistics (no-op for an empty batch). */
  update(): void {
    const b = this.batchInstances;
    if (b === 0) return;
    this.numBatchesTracked++;
    const f = this.momentum === 'cumulative' ? 1 / this.numBatchesTracked : this.momentum;
    for (let c = 0; c < this.channels; c++) {
      this.mean[c] = (1 - f) * this.mean[c]! + f * (this.batchMean[c]! / b);
      this.var[c] = (1 - f) * this.var[c]! + f * (this.batchVar[c]! / b);
    }
    this.batchMean.fill(0);
    this.batchVar.fill(0);
    this.batchInstances = 0;
  }
}
