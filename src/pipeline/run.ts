import { type Block, type Values, findNaN, withValues } from '../core/block.js';
import { NormEngine, usesInstanceStats } from '../core/engine.js';
import { allocateValues, releaseValues } from '../core/kernels/kernels.js';
import { RunningStats } from '../core/running-stats.js';
import type { Affine } from '../core/transform.js';
import { TsnormError } from '../errors.js';
import { writeFileAtomic } from '../io/byte-sink.js';
import { openReader, openWriter, outputFormat } from '../formats/registry.js';
import type { FormatName, SeriesReader, SeriesWriter } from '../formats/types.js';
import { type LoadedParams, type StatsFile, formatStats, perChannel } from '../stats-file.js';
import type { Plan } from './plan.js';

/** What a run did, for the CLI to report. */
export interface RunSummary {
  readonly instances: number;
  /** Series (instance, channel) that missing values made all NaN (--nan propagate, instance statistics). */
  readonly nanSeries: number;
  readonly channels: number;
  readonly stats?: StatsFile | undefined;
}

/** Runs a plan: each input through reader -> core -> writer, in order; then saves the running stats. */
export async function run(plan: Plan): Promise<RunSummary> {
  const { eps, momentum } = plan;
  let first: { name: string; channels: number; names?: readonly string[] | undefined } | undefined;
  let running: RunningStats | undefined;
  let affine: Affine | undefined;
  let instances = 0;
  let nanSeries = 0;

  // No instance statistics (eval with running stats, or convert): one pass, rows written as
  // they arrive.
  const live = plan.command === 'convert' || !usesInstanceStats(plan.training, plan.trackRunningStats);
  for (const input of plan.inputs) {
    const { reader, format: inputFormat } = await openReader(input.path, { format: input.format, budget: plan.budget, csv: plan.csv, live });
    let writer: SeriesWriter | undefined;
    let out: Scratch | undefined;
    try {
      const { layout } = reader;
      const channels = layout.channels;
      const outFormat = plan.output && outputFormat(plan.output.path, plan.output.format, inputFormat);
      checkFlagsApply(plan, reader.name, inputFormat, outFormat);
      if (!first) {
        first = { name: reader.name, channels, names: layout.channelNames };
        affine = plan.affine && loadAffine(plan.affine, channels, layout.channelNames);
        running = plan.trackRunningStats ? loadRunning(plan, channels, momentum, layout.channelNames) : undefined;
      } else if (channels !== first.channels) {
        throw new TsnormError(`${reader.name}: has ${channels} channels, but ${first.name} has ${first.channels}`);
      } else if (first.names && layout.channelNames && first.names.join('\u0000') !== layout.channelNames.join('\u0000')) {
        throw new TsnormError(`${reader.name}: channels [${layout.channelNames.join(', ')}] differ from ${first.name}'s [${first.names.join(', ')}]`);
      }
      const engine = new NormEngine({ channels, eps, affine, training: plan.training, running, batchSize: plan.batchSize, nan: plan.nan });
      const convert = plan.command === 'convert';
      if (!convert && layout.steps !== undefined) engine.checkSteps(layout.steps, () => reader.name);
      if (plan.output && outFormat) {
        // float64 for float64 input and for text (CSV numbers are float64), float32 otherwise.
        const dtype = plan.output.dtype ?? (layout.dtype?.endsWith('f8') || layout.dtype === undefined ? 'float64' : 'float32');
        writer = await openWriter(plan.output.path, { format: outFormat, inputFormat, dtype, csv: plan.csv });
        await writer.start(layout);
      }
      out = new Scratch(writer?.valueType ?? 'float64');
      if (convert) instances += await copy(reader, writer!);
      else if (engine.usesInstanceStats) instances += await twoPasses(reader, engine, writer, out, plan.nan === 'error');
      else instances += await onePass(reader, engine, writer!, out, plan.nan === 'error');
      engine.finishBatch();
      nanSeries += engine.nanSeries;
      await writer?.finish();
    } catch (err) {
      await writer?.abort();
      throw err;
    } finally {
      out?.release();
      await reader.close();
    }
  }

  let stats: StatsFile | undefined;
  if (running && first) {
    stats = {
      format: 'tsnorm-stats', version: 1, num_features: first.channels,
      ...(first.names ? { channels: [...first.names] } : {}),
      eps, momentum,
      running_mean: Array.from(running.mean), running_var: Array.from(running.var),
      num_batches_tracked: running.numBatchesTracked,
      ...(running.updatesMatchBatches() ? {} : { mean_updates: Array.from(running.meanUpdates), var_updates: Array.from(running.varUpdates) }),
      ...(affine ? { weight: Array.from(affine.weight), bias: Array.from(affine.bias) } : {}),
    };
    if (plan.saveStats) await writeFileAtomic(plan.saveStats, formatStats(stats, plan.saveStats));
  }
  return { instances, nanSeries, channels: first?.channels ?? 0, stats };
}

const isText = (f: FormatName): boolean => f === 'csv' || f === 'tsv';

/** Refuses flags that mean nothing for these formats, instead of ignoring them silently. */
function checkFlagsApply(plan: Plan, inputName: string, input: FormatName, output: FormatName | undefined): void {
  if (!isText(input) && plan.textInputFlags.length > 0) {
    throw new TsnormError(`${plan.textInputFlags.join(', ')}: for CSV/TSV input, and ${inputName} is ${input.toUpperCase()}`);
  }
  if (output !== undefined && !isText(output) && plan.textOutputFlags.length > 0) {
    throw new TsnormError(`${plan.textOutputFlags.join(', ')}: for CSV/TSV output, and ${plan.output?.path === '-' ? 'the output' : plan.output?.path} is ${output.toUpperCase()}`);
  }
  if (output !== undefined && isText(output) && plan.output?.dtype !== undefined) {
    throw new TsnormError(`--dtype: for NPY output; CSV/TSV numbers are written as float64 text (see --precision)`);
  }
}

/** A parameter file that names its channels must name the input's, in order. */
function checkChannelNames(p: LoadedParams, names: readonly string[] | undefined): void {
  if (p.channels && names && p.channels.join('\u0000') !== names.join('\u0000')) {
    throw new TsnormError(`${p.file}: channels [${p.channels.join(', ')}] differ from the input's [${names.join(', ')}]`);
  }
}

function loadAffine(p: LoadedParams, channels: number, names: readonly string[] | undefined): Affine {
  if (!p.weight && !p.bias) throw new TsnormError(`${p.file}: has no "weight" and "bias" (expected {"weight": [...], "bias": [...]})`);
  checkChannelNames(p, names);
  return { weight: perChannel(p.weight, `${p.prefix}weight`, channels, p.file), bias: perChannel(p.bias, `${p.prefix}bias`, channels, p.file) };
}

function loadRunning(plan: Plan, channels: number, momentum: RunningStats['momentum'], names?: readonly string[]): RunningStats {
  const s = plan.stats;
  if (!s) {
    if (!plan.training) throw new TsnormError('eval with running statistics needs --stats FILE (running statistics to apply)');
    return new RunningStats(channels, momentum);
  }
  checkChannelNames(s, names);
  return new RunningStats(channels, momentum, {
    mean: perChannel(s.runningMean, `${s.prefix}running_mean`, channels, s.file),
    var: perChannel(s.runningVar, `${s.prefix}running_var`, channels, s.file),
    numBatchesTracked: s.numBatchesTracked ?? 0,
    ...(s.meanUpdates ? { meanUpdates: perChannel(s.meanUpdates, 'mean_updates', channels, s.file) } : {}),
    ...(s.varUpdates ? { varUpdates: perChannel(s.varUpdates, 'var_updates', channels, s.file) } : {}),
  });
}

/**
 * Output arrays of the type the writer takes (in kernel memory), two in turn: a writer may go on
 * using the array of its last write while the next one is computed into the other.
 */
class Scratch {
  private readonly arrays: Values[];
  private current = 0;
  constructor(private readonly type: 'float32' | 'float64') {
    this.arrays = [allocateValues(type, 0), allocateValues(type, 0)];
  }
  get(length: number): Values {
    if (this.arrays[this.current]!.length < length) {
      releaseValues(this.arrays[this.current]!);
      this.arrays[this.current] = allocateValues(this.type, length);
    }
    return this.arrays[this.current]!;
  }
  /** Writes the blocks and turns to the other array. */
  async write(writer: SeriesWriter, blocks: readonly Block[]): Promise<void> {
    await writer.write(blocks);
    this.current ^= 1;
  }
  release(): void {
    for (const a of this.arrays) releaseValues(a);
  }
}

function refuseNaN(reader: SeriesReader, block: Block): void {
  const at = findNaN(block);
  if (at) {
    const [c, t] = at;
    throw new TsnormError(`${reader.name}: missing value at ${reader.locate(block, c, t)} (instance ${block.instance}, channel ${c}, step ${t}) and --nan error`);
  }
}

/** Training (or no running stats): per instance, statistics first, then the transform. */
async function twoPasses(reader: SeriesReader, engine: NormEngine, writer: SeriesWriter | undefined, out: Scratch, nanIsError: boolean): Promise<number> {
  let instances = 0;
  const ready: Block[] = [];
  let readyInput: Values | undefined;
  for await (const units of reader.units()) {
    for (const u of units) {
      if (u.firstChannel === 0) engine.startInstance();
      const where = () => `${reader.name}: ${reader.layout.describeInstance?.(u.instance) ?? `instance ${u.instance}`}`;
      if (u.block) {
        if (nanIsError) refuseNaN(reader, u.block);
        engine.accumulate(u.block);
        engine.finishStatistics(u.firstChannel, u.channelCount, u.steps, where);
        if (writer) {
          // Waiting blocks sit at their input indices in the one output array: another input array must not overwrite them.
          if (u.block.values !== readyInput && ready.length > 0) await out.write(writer, ready.splice(0));
          readyInput = u.block.values;
          const values = out.get(u.block.values.length);
          engine.transform(u.block, values);
          ready.push(withValues(u.block, values));
        }
      } else if (u.pass) {
        if (writer && ready.length > 0) await out.write(writer, ready.splice(0));
        for await (const b of u.pass()) {
          if (nanIsError) refuseNaN(reader, b);
          engine.accumulate(b);
        }
        engine.finishStatistics(u.firstChannel, u.channelCount, u.steps, where);
        if (writer) {
          for await (const b of u.pass()) {
            const values = out.get(b.values.length);
            engine.transform(b, values);
            await out.write(writer, [withValues(b, values)]);
          }
        }
      }
      if (u.endsInstance) {
        engine.finishInstance();
        instances++;
      }
    }
    if (writer && ready.length > 0) await out.write(writer, ready.splice(0));
  }
  return instances;
}

/** Eval with running stats: each block transformed and written as it arrives. */
async function onePass(reader: SeriesReader, engine: NormEngine, writer: SeriesWriter, out: Scratch, nanIsError: boolean): Promise<number> {
  const count = new InstanceCounter();
  for await (const blocks of reader.blocks()) {
    const transformed = blocks.map((b) => {
      if (nanIsError) refuseNaN(reader, b);
      count.see(b);
      const values = out.get(b.values.length);
      engine.transform(b, values);
      return withValues(b, values);
    });
    await out.write(writer, transformed);
  }
  return count.total;
}

async function copy(reader: SeriesReader, writer: SeriesWriter): Promise<number> {
  const count = new InstanceCounter();
  for await (const blocks of reader.blocks()) {
    for (const b of blocks) count.see(b);
    await writer.write(blocks);
    // These are the reader's own buffers, which it refills: the writer must be done with them.
    await writer.write([]);
  }
  return count.total;
}

/** Counts instances as blocks arrive in order. */
class InstanceCounter {
  total = 0;
  private last = -1;
  see(b: Block): void {
    if (b.instance !== this.last) {
      this.last = b.instance;
      this.total++;
    }
  }
}
