import { TsnormError } from '../errors.js';
import { paramsOf, perChannel } from './state-dict.js';
import type { Block } from './block.js';
import { EngineDriver } from './driver.js';
import { type NanPolicy, NormEngine } from './engine.js';
import { type Momentum, RunningStats } from './running-stats.js';

export interface InstanceNorm1dOptions {
  eps?: number;
  momentum?: Momentum;
  affine?: boolean;
  trackRunningStats?: boolean;
  /** How missing values (NaN) are treated; torch propagates them. */
  nan?: NanPolicy;
}

/** A dense C-order array: (N, C, L) or, unbatched, (C, L). */
export interface Tensor<T extends Float32Array | Float64Array = Float32Array | Float64Array> {
  shape: number[];
  data: T;
}

export interface StateDict {
  running_mean?: number[];
  running_var?: number[];
  num_batches_tracked?: number;
  weight?: number[];
  bias?: number[];
}

/** torch.nn.InstanceNorm1d, in memory, with float64 statistics and transform. */
export class InstanceNorm1d {
  readonly eps: number;
  readonly momentum: Momentum;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly nan: NanPolicy;
  training = true;
  /** affine weight and bias (ones and zeros until loaded), when `affine` */
  weight?: Float64Array;
  bias?: Float64Array;
  running?: RunningStats;

  constructor(
    readonly numFeatures: number,
    options: InstanceNorm1dOptions = {},
  ) {
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new TsnormError(`numFeatures must be a positive integer, got ${numFeatures}`, 'TSNORM_PARAMS');
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.affine = options.affine ?? false;
    this.trackRunningStats = options.trackRunningStats ?? false;
    this.nan = options.nan ?? 'propagate';
    if (!(this.eps > 0) || !Number.isFinite(this.eps)) throw new TsnormError(`eps must be a positive number, got ${this.eps}`, 'TSNORM_PARAMS');
    if (this.momentum !== 'cumulative' && !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new TsnormError(`momentum must be in [0, 1] or 'cumulative', got ${this.momentum}`, 'TSNORM_PARAMS');
    }
    if (this.affine) {
      this.weight = new Float64Array(numFeatures).fill(1);
      this.bias = new Float64Array(numFeatures);
    }
    if (this.trackRunningStats) this.running = new RunningStats(numFeatures, this.momentum);
  }

  train(mode = true): this {
    this.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  forward<T extends Float32Array | Float64Array>(input: Tensor<T>): Tensor<T> {
    const { shape, data } = input;
    if (shape.length !== 2 && shape.length !== 3) {
      throw new TsnormError(`expected a (N, C, L) or (C, L) input, got shape (${shape.join(', ')})`, 'TSNORM_DATA');
    }
    const [n, c, l] = shape.length === 3 ? (shape as [number, number, number]) : [1, shape[0]!, shape[1]!];
    if (c !== this.numFeatures) throw new TsnormError(`expected ${this.numFeatures} channels, got ${c} (shape (${shape.join(', ')}))`, 'TSNORM_DATA');
    if (data.length !== n * c * l) throw new TsnormError(`data has ${data.length} values, shape (${shape.join(', ')}) needs ${n * c * l}`, 'TSNORM_DATA');
    const engine = new NormEngine({
      channels: c,
      eps: this.eps,
      affine: this.weight && this.bias ? { weight: this.weight, bias: this.bias } : undefined,
      training: this.training,
      running: this.running,
      nan: this.nan,
    });
    const driver = new EngineDriver(engine, {
      nanIsError: this.nan === 'error',
      instanceName: (i) => `instance ${i}`,
      locate: (b, ch, t) => `index ${b.offset + (ch - b.firstChannel) * b.channelStride + t}`,
    });
    const values = data instanceof Float64Array ? data : Float64Array.from(data);
    const out = new Float64Array(values.length);
    for (let i = 0; i < n; i++) {
      const block: Block = {
        instance: i,
        values,
        offset: i * c * l,
        channelStride: l,
        stepStride: 1,
        firstChannel: 0,
        channelCount: c,
        firstStep: 0,
        stepCount: l,
      };
      if (engine.usesInstanceStats) {
        driver.see(block);
        driver.finishUnit(i, 0, c, l);
      }
      driver.transform(block, out);
      driver.endInstance();
    }
    driver.endInput();
    const result = (data instanceof Float64Array ? out : Float32Array.from(out)) as T;
    return { shape: [...shape], data: result };
  }

  stateDict(): StateDict {
    const s: StateDict = {};
    if (this.running) {
      s.running_mean = Array.from(this.running.mean);
      s.running_var = Array.from(this.running.var);
      s.num_batches_tracked = this.running.numBatchesTracked;
    }
    if (this.weight && this.bias) {
      s.weight = Array.from(this.weight);
      s.bias = Array.from(this.bias);
    }
    return s;
  }

  /**
   * Loads what `stateDict` returns (or a parsed stats file, or a torch state_dict as JSON, its
   * layer found by prefix): the same checks as the command line's --stats. Keys this module
   * lacks are ignored.
   */
  loadStateDict(state: StateDict | Record<string, unknown>): void {
    const p = paramsOf(state, 'state dict');
    const exact = (values: number[] | undefined, key: string) => perChannel(values, p.prefix + key, this.numFeatures, 'state dict');
    if (this.running && (p.runningMean !== undefined || p.runningVar !== undefined)) {
      const mean = exact(p.runningMean, 'running_mean');
      const variance = exact(p.runningVar, 'running_var');
      // Without num_batches_tracked the counts carry over, per channel too.
      const counts =
        p.numBatchesTracked === undefined
          ? { numBatchesTracked: this.running.numBatchesTracked, meanUpdates: this.running.meanUpdates, varUpdates: this.running.varUpdates }
          : { numBatchesTracked: p.numBatchesTracked, meanUpdates: p.meanUpdates, varUpdates: p.varUpdates };
      this.running = new RunningStats(this.numFeatures, this.momentum, { mean, var: variance, ...counts });
    }
    if (this.affine && p.hasAffine) {
      this.weight = exact(p.weight, 'weight');
      this.bias = exact(p.bias, 'bias');
    }
  }
}
