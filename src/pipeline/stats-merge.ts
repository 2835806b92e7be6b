import { type Fit, mergeFits } from '../core/merge.js';
import { ChannelSketches } from '../core/sketch.js';
import type { RunningState } from '../core/running-stats.js';
import type { LoadedParams } from '../core/state-dict.js';
import { TsnormError } from '../errors.js';
import { writeTextOutput } from '../io/byte-sink.js';
import { type StatsFile, formatStats, loadParams, statsFileOf } from '../stats-file.js';

/**
 * `tsnorm stats merge S1 S2 ... -o S`: stats files of shards fitted one by one (anywhere, in
 * parallel), merged into what one fit over the shards in that order gives. The files must agree
 * on the channels (count and names), eps, momentum and affine parameters; every file but the
 * first must say where its fit started (the start_* keys tsnorm writes).
 */
export async function mergeStatsFiles(files: readonly string[], output: string, note?: (text: string) => void): Promise<StatsFile> {
  if (files.length === 0) throw new TsnormError('stats merge: name the stats files to merge', 'TSNORM_PARAMS');
  const loaded = files.map((f) => loadParams(f, { purpose: 'stats' }));
  const first = loaded[0]!;
  for (const p of loaded) {
    if (!p.runningMean || !p.runningVar) throw new TsnormError(`${p.file}: not a stats file: no "running_mean" and "running_var"`, 'TSNORM_PARAMS');
    if (p.momentum === undefined)
      throw new TsnormError(`${p.file}: no "momentum": merging needs to know how the fit weighed its batches (a file written by tsnorm fit)`, 'TSNORM_PARAMS');
  }
  for (const p of loaded.slice(1)) {
    const differ = (what: string, a: unknown, b: unknown) =>
      new TsnormError(
        `${p.file}: ${what} ${JSON.stringify(b)} differs from ${first.file}'s ${JSON.stringify(a)}: only fits of one model merge`,
        'TSNORM_PARAMS',
      );
    if (p.runningMean!.length !== first.runningMean!.length) throw differ('the channel count', first.runningMean!.length, p.runningMean!.length);
    if (first.channels && p.channels && first.channels.join('\u0000') !== p.channels.join('\u0000')) throw differ('channels', first.channels, p.channels);
    if ((first.eps ?? 1e-5) !== (p.eps ?? 1e-5)) throw differ('eps', first.eps, p.eps);
    if (first.momentum !== p.momentum) throw differ('momentum', first.momentum, p.momentum);
    if (first.hasAffine !== p.hasAffine || (first.hasAffine && (!sameNumbers(first.weight, p.weight) || !sameNumbers(first.bias, p.bias)))) {
      throw differ(
        'weight and bias',
        first.hasAffine ? { weight: first.weight, bias: first.bias } : null,
        p.hasAffine ? { weight: p.weight, bias: p.bias } : null,
      );
    }
    if (!p.start) {
      throw new TsnormError(
        `${p.file}: does not say where its fit started (no "start_mean"): written by an older tsnorm, or not by fit; it can only come first in a merge`,
        'TSNORM_PARAMS',
      );
    }
  }
  const fits = loaded.map(fitOf);
  const merged = mergeFits(fits);
  // The values' sketches add up: the first file's, then what each other fit added to its start.
  let sketch: ChannelSketches | undefined;
  if (loaded.every((p) => p.sketch)) {
    sketch = ChannelSketches.fromJSON(first.sketch!);
    for (const p of loaded.slice(1)) {
      sketch.merge(ChannelSketches.fromJSON(p.sketch!));
      if (p.startSketch) sketch.merge(ChannelSketches.fromJSON(p.startSketch), -1);
    }
    if (!sketch.consistent)
      throw new TsnormError(
        `stats merge: the files' value sketches do not add up (a "start_sketch" larger than its "sketch"): were they written by tsnorm fit?`,
        'TSNORM_PARAMS',
      );
  } else if (loaded.some((p) => p.sketch)) {
    const without = loaded.find((p) => !p.sketch)!;
    note?.(`${output}: written without a sketch of the values: ${without.file} has none (check's distribution checks need one; fit it again with this tsnorm)`);
  }
  const stats = statsFileOf({
    channels: first.runningMean!.length,
    names: first.channels,
    eps: first.eps ?? 1e-5,
    momentum: first.momentum!,
    end: merged.end,
    start: first.start ? merged.start : undefined,
    affine: first.hasAffine ? { weight: first.weight!, bias: first.bias! } : undefined,
    sketch: sketch?.toJSON(),
    startSketch: sketch && first.startSketch,
  });
  await writeTextOutput(output, formatStats(stats, output));
  return stats;
}

function sameNumbers(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A stats file's fit: its end state, and its start (for the first file, when it says none: the end). */
function fitOf(p: LoadedParams): Fit {
  const state = (mean: number[], variance: number[], batches: number, meanUpdates?: number[], varUpdates?: number[]): RunningState => ({
    mean: Float64Array.from(mean),
    var: Float64Array.from(variance),
    numBatchesTracked: batches,
    meanUpdates: meanUpdates ? Float64Array.from(meanUpdates) : new Float64Array(mean.length).fill(batches),
    varUpdates: varUpdates ? Float64Array.from(varUpdates) : new Float64Array(mean.length).fill(batches),
  });
  const end = state(p.runningMean!, p.runningVar!, p.numBatchesTracked ?? 0, p.meanUpdates, p.varUpdates);
  const start = p.start ? state(p.start.mean, p.start.var, p.start.numBatchesTracked, p.start.meanUpdates, p.start.varUpdates) : end;
  return { momentum: p.momentum!, start, end };
}
