import { TsnormError } from '../errors.js';
import type { Momentum, RunningState } from './running-stats.js';

/** A fit's outcome: where it started, where it ended, with which momentum. */
export interface Fit {
  readonly momentum: Momentum;
  readonly start: RunningState;
  readonly end: RunningState;
}

/**
 * Fits of shards, merged: the fit one run over all the shards in this order would have made.
 *
 * Each update is an affine map of the running value, so a whole fit is one: with momentum m, K
 * updates from s give (1 - m)^K s + D, where D (what the fit's data added) is end - (1 - m)^K
 * start. Following another fit, the same updates from its end e give (1 - m)^K e + D. With
 * `cumulative` (factor 1/k at the k-th update) a fit from k0 updates at s to k0 + K at its end
 * added the sum end (k0 + K) - s k0; after another fit's k updates at e, the result is
 * (e k + that sum) / (k + K). Per channel, with each statistic's own count of updates (--nan
 * ignore can leave a channel out of a batch). The merged fit starts where the first one did.
 */
export function mergeFits(fits: readonly Fit[]): Fit {
  if (fits.length === 0) throw new TsnormError('stats merge: no stats files', 'TSNORM_PARAMS');
  let acc: Fit = fits[0]!;
  for (const next of fits.slice(1)) acc = { momentum: acc.momentum, start: acc.start, end: follow(acc.end, next) };
  return acc;
}

/** The state `fit`'s updates lead to when applied after `after` instead of after `fit.start`. */
function follow(after: RunningState, fit: Fit): RunningState {
  const C = after.mean.length;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const meanUpdates = new Float64Array(C);
  const varUpdates = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const km = fit.end.meanUpdates[c]! - fit.start.meanUpdates[c]!;
    const kv = fit.end.varUpdates[c]! - fit.start.varUpdates[c]!;
    mean[c] = apply(fit.momentum, after.mean[c]!, after.meanUpdates[c]!, fit.start.mean[c]!, fit.start.meanUpdates[c]!, fit.end.mean[c]!, km);
    variance[c] = apply(fit.momentum, after.var[c]!, after.varUpdates[c]!, fit.start.var[c]!, fit.start.varUpdates[c]!, fit.end.var[c]!, kv);
    meanUpdates[c] = after.meanUpdates[c]! + km;
    varUpdates[c] = after.varUpdates[c]! + kv;
  }
  const batches = fit.end.numBatchesTracked - fit.start.numBatchesTracked;
  return { mean, var: variance, numBatchesTracked: after.numBatchesTracked + batches, meanUpdates, varUpdates };
}

/**
 * One statistic of one channel: a fit that took it from `start` (after `startK` updates) to
 * `end` in `k` updates, applied after a state `after` (after `afterK` updates).
 */
function apply(momentum: Momentum, after: number, afterK: number, start: number, startK: number, end: number, k: number): number {
  if (k === 0) return after;
  if (momentum === 'cumulative') {
    const added = end * (startK + k) - start * startK;
    return (after * afterK + added) / (afterK + k);
  }
  const keep = (1 - momentum) ** k;
  return keep * after + (end - keep * start);
}
