import type { ChannelMoments } from './moments.js';

/** `cumulative` is BatchNorm's momentum=None: an equal-weight average over all batches. */
export type Momentum = number | 'cumulative';

/** Running statistics at one moment: the values, and how many updates made them. */
export interface RunningState {
  readonly mean: Float64Array;
  readonly var: Float64Array;
  readonly numBatchesTracked: number;
  readonly meanUpdates: Float64Array;
  readonly varUpdates: Float64Array;
}

/**
 * Running statistics as torch keeps them for InstanceNorm1d(track_running_stats=True): after
 * each batch, running = (1 - momentum) * running + momentum * (mean over the batch's instances
 * of their mean, resp. unbiased variance).
 *
 * Missing values left out (--nan ignore) can leave a series with no value, or one: per channel,
 * the batch mean of the means is over the batch's instances with at least one value in that
 * channel, and the batch mean of the unbiased variances over those with at least two (a single
 * value has no unbiased variance). A channel with no contribution in a batch keeps its running
 * value for that batch. `numBatchesTracked` still counts batches; `meanUpdates` and `varUpdates`
 * count, per channel, the updates each statistic received, and with `cumulative` the k-th of them
 * has factor 1/k: an equal-weight average over the batches that had data for that channel. Without
 * missing values all of them equal `numBatchesTracked` and the result is torch's.
 */
export class RunningStats {
  readonly mean: Float64Array;
  readonly var: Float64Array;
  numBatchesTracked: number;
  /** Per channel, the updates `mean` has received (numBatchesTracked at load, unless given). */
  readonly meanUpdates: Float64Array;
  /** Per channel, the updates `var` has received (numBatchesTracked at load, unless given). */
  readonly varUpdates: Float64Array;
  private readonly batchMean: Float64Array;
  private readonly batchVar: Float64Array;
  /** Per channel, the batch's instances that contributed to batchMean, resp. batchVar. */
  private readonly batchMeanInstances: Float64Array;
  private readonly batchVarInstances: Float64Array;
  private batchInstances = 0;
  /** The state this fit started from: what merging it after another fit needs (see merge.ts). */
  readonly start: RunningState;

  constructor(
    readonly channels: number,
    readonly momentum: Momentum,
    init?: {
      mean: ArrayLike<number>;
      var: ArrayLike<number>;
      numBatchesTracked?: number;
      meanUpdates?: ArrayLike<number>;
      varUpdates?: ArrayLike<number>;
    },
  ) {
    this.mean = init ? Float64Array.from(init.mean) : new Float64Array(channels);
    this.var = init ? Float64Array.from(init.var) : new Float64Array(channels).fill(1);
    this.numBatchesTracked = init?.numBatchesTracked ?? 0;
    this.meanUpdates = init?.meanUpdates ? Float64Array.from(init.meanUpdates) : new Float64Array(channels).fill(this.numBatchesTracked);
    this.varUpdates = init?.varUpdates ? Float64Array.from(init.varUpdates) : new Float64Array(channels).fill(this.numBatchesTracked);
    this.batchMean = new Float64Array(channels);
    this.batchVar = new Float64Array(channels);
    this.batchMeanInstances = new Float64Array(channels);
    this.batchVarInstances = new Float64Array(channels);
    this.start = this.state();
  }

  /** A copy of the current state. */
  state(): RunningState {
    return {
      mean: Float64Array.from(this.mean),
      var: Float64Array.from(this.var),
      numBatchesTracked: this.numBatchesTracked,
      meanUpdates: Float64Array.from(this.meanUpdates),
      varUpdates: Float64Array.from(this.varUpdates),
    };
  }

  /** Records one instance's statistics into the batch under way (channels without values left out). */
  observe(moments: ChannelMoments): void {
    for (let c = 0; c < this.channels; c++) {
      const n = moments.count[c]!;
      if (n >= 1) {
        this.batchMean[c]! += moments.mean(c);
        this.batchMeanInstances[c]!++;
      }
      if (n >= 2) {
        this.batchVar[c]! += moments.unbiasedVariance(c);
        this.batchVarInstances[c]!++;
      }
    }
    this.batchInstances++;
  }

  /** Whether instances were observed since the last update. */
  get pending(): boolean {
    return this.batchInstances > 0;
  }

  /** Ends the batch: one update with the batch's average statistics (no-op for an empty batch). */
  update(): void {
    if (this.batchInstances === 0) return;
    this.numBatchesTracked++;
    for (let c = 0; c < this.channels; c++) {
      const b = this.batchMeanInstances[c]!;
      if (b > 0) {
        const f = this.factor(++this.meanUpdates[c]!);
        this.mean[c] = (1 - f) * this.mean[c]! + f * (this.batchMean[c]! / b);
      }
      const bv = this.batchVarInstances[c]!;
      if (bv > 0) {
        const f = this.factor(++this.varUpdates[c]!);
        this.var[c] = (1 - f) * this.var[c]! + f * (this.batchVar[c]! / bv);
      }
    }
    this.batchMean.fill(0);
    this.batchVar.fill(0);
    this.batchMeanInstances.fill(0);
    this.batchVarInstances.fill(0);
    this.batchInstances = 0;
  }

  /** The weight of the k-th update of a statistic. */
  private factor(k: number): number {
    return this.momentum === 'cumulative' ? 1 / k : this.momentum;
  }
}
