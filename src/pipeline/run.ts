import fs from 'node:fs';
import path from 'node:path';
import { type Values, channelStart } from '../core/block.js';
import { EngineDriver } from '../core/driver.js';
import { NormEngine, usesInstanceStats } from '../core/engine.js';
import { allocateValues, releaseValues } from '../core/kernels/kernels.js';
import { RunningStats } from '../core/running-stats.js';
import { ChannelSketches, type SketchJson } from '../core/sketch.js';
import type { Affine } from '../core/transform.js';
import { TsnormError } from '../errors.js';
import { writeTextOutput } from '../io/byte-sink.js';
import { causeOfFailure, checkInputsUnchanged, ioError } from '../io/byte-source.js';
import { formatFromPath } from '../formats/detect.js';
import { formatOf } from '../formats/formats.js';
import type { FormatName } from '../formats/types.js';
import { openWriter, outputFormat } from '../formats/registry.js';
import type { ReadMeter } from '../io/read-meter.js';
import { type DataBlock, type SeriesReader, type SeriesWriter, locationText } from '../formats/types.js';
import { type LoadedParams, perChannel } from '../core/state-dict.js';
import { type StatsFile, formatStats, statsFileOf } from '../stats-file.js';
import { type InputPlan, type OutputPlan, type Plan, refuseFlagsFor } from './plan.js';
import { openInputReader, readBlocks } from './read-pass.js';
import { type GroupingHint, GroupingWatch, IncreasingWatch, namedLikeTime } from './grouping.js';
import { Reshaper } from './reshape.js';
import { type Unit, UnitAssembler } from './units.js';

/** What a run did, for the CLI to report. */
export interface RunSummary {
  readonly instances: number;
  /** Series (instance, channel) that missing values made all NaN (--nan propagate, instance statistics). */
  readonly nanSeries: number;
  readonly channels: number;
  readonly stats?: StatsFile | undefined;
  /** Channels taken by default (no --channels) that hold time: by their names (`ts`, `event_time`) or their values (integers increasing within each instance). */
  readonly timeLikeChannels: readonly string[];
  /** Inputs read without --id as one instance whose rows look like several (see GroupingWatch). */
  readonly grouping: readonly { file: string; hint: GroupingHint }[];
}

/** Whether channels taken by default are watched for time (normalizing time is rarely meant). */
function watchesTime(plan: Plan): boolean {
  return plan.command !== 'convert' && plan.table?.channels === undefined;
}

/** The channels that hold time, by their names or (`byValues`) their values, in channel order. */
function timeLikeChannels(plan: Plan, names: readonly string[] | undefined, byValues: ReadonlySet<string>): string[] {
  if (!watchesTime(plan) || names === undefined) return [];
  return names.filter((name) => namedLikeTime(name) || byValues.has(name));
}

/** Bytes of one instance held in memory before it spills to a temporary file. */
export const DEFAULT_HOLD_BYTES = 64 << 20;

/** Runs a plan: each input through reader -> core -> writer, in order; then saves the running stats. */
export async function run(plan: Plan, meter?: ReadMeter): Promise<RunSummary> {
  const { eps, momentum } = plan;
  const holdBytes = plan.holdBytes ?? DEFAULT_HOLD_BYTES;
  let first: { name: string; channels: number; names?: readonly string[] | undefined } | undefined;
  let running: RunningStats | undefined;
  let affine: Affine | undefined;
  let instances = 0;
  let nanSeries = 0;
  const grouping: { file: string; hint: GroupingHint }[] = [];
  const timeLike = new Set<string>();
  let sketches: ChannelSketches | undefined;
  let startSketch: SketchJson | undefined;
  /** A fit that continues a stats file without a sketch cannot sketch all its data: it writes none. */
  let noSketch = false;

  // No instance statistics (eval with running stats, or convert): one pass, rows written as
  // they arrive.
  const live = plan.command === 'convert' || !usesInstanceStats(plan.training, plan.trackRunningStats);
  for (const input of plan.inputs) {
    const reading = { format: input.format, budget: plan.budget, table: plan.table, formatFlags: plan.formatFlags, openInput: plan.openInput };
    const opened = await openInputReader(input.path, reading, { live, exact: plan.command === 'convert', meter });
    const inputFormat = opened.format;
    // Statistics over one instance that a column says is several blur them: watched for a note.
    const watch =
      plan.command !== 'convert' && plan.table?.id === undefined && opened.reader.schema.orientation === 'rows'
        ? new GroupingWatch(opened.reader.schema)
        : undefined;
    // A fit carries its values' distribution (check compares incoming data with it).
    if (plan.training && plan.trackRunningStats && !sketches && !noSketch) {
      const continued = plan.stats;
      if (continued && !continued.sketch) noSketch = true;
      else {
        sketches = continued?.sketch ? ChannelSketches.fromJSON(continued.sketch) : new ChannelSketches(opened.reader.schema.channels);
        startSketch = continued?.sketch;
      }
    }
    const observers: ((b: DataBlock) => void)[] = [];
    if (watch?.watching) observers.push((b) => watch.see(b, (blk, c, t) => opened.reader.locate(blk, c, t)));
    const increasing =
      watchesTime(plan) && opened.reader.schema.orientation === 'rows' && opened.reader.schema.channelNames
        ? new IncreasingWatch(opened.reader.schema.channels)
        : undefined;
    if (increasing)
      observers.push((b) => {
        if (increasing.watching) increasing.see(b);
      });
    const sketching = sketches;
    if (sketching) {
      observers.push((b) => {
        for (let c = b.firstChannel; c < b.firstChannel + b.channelCount; c++)
          sketching.channels[c]?.add(b.values, channelStart(b, c), b.stepCount, b.stepStride);
      });
    }
    const reader = observers.length > 0 ? observedReader(opened.reader, observers) : opened.reader;
    let writer: SeriesWriter | undefined;
    let shaper: Reshaper | undefined;
    let out: Scratch | undefined;
    try {
      const { schema } = reader;
      const channels = schema.channels;
      const target = plan.output && (plan.output.folder ? await folderTarget(plan.output, input, inputFormat) : plan.output);
      const outFormat = target && outputFormat(target.path, target.format, inputFormat);
      if (outFormat !== undefined) refuseFlagsFor(plan.formatFlags, 'output', target?.path === '-' ? 'the output' : (target?.path ?? ''), outFormat);
      if (!first) {
        first = { name: reader.name, channels, names: schema.channelNames };
        affine = plan.affine && loadAffine(plan.affine, channels, schema.channelNames);
        if (plan.command === 'inverse' && affine && plan.affine) {
          const zero = affine.weight.indexOf(0);
          if (zero >= 0) {
            const name = schema.channelNames?.[zero];
            throw new TsnormError(
              `${plan.affine.file}: ${plan.affine.prefix}weight[${zero}]${name === undefined ? '' : ` (channel ${name})`} is 0: it maps every value to the bias, which cannot be inverted`,
              'TSNORM_PARAMS',
            );
          }
        }
        running = plan.trackRunningStats ? loadRunning(plan, channels, momentum, schema.channelNames) : undefined;
      } else if (channels !== first.channels) {
        throw new TsnormError(`${reader.name}: has ${channels} channels, but ${first.name} has ${first.channels}`, 'TSNORM_DATA');
      } else if (first.names && schema.channelNames && first.names.join('\u0000') !== schema.channelNames.join('\u0000')) {
        throw new TsnormError(
          `${reader.name}: channels [${schema.channelNames.join(', ')}] differ from ${first.name}'s [${first.names.join(', ')}]`,
          'TSNORM_DATA',
        );
      }
      const engine = new NormEngine({
        channels,
        eps,
        affine,
        training: plan.training,
        running,
        batchSize: plan.batchSize,
        nan: plan.nan,
        inverse: plan.command === 'inverse',
      });
      const driver = new EngineDriver(engine, {
        source: reader.name,
        nanIsError: plan.nan === 'error',
        instanceName: (i) => schema.describeInstance?.(i) ?? `instance ${i}`,
        locate: (b, c, t) => locationText(reader.locate(b, c, t)),
      });
      const convert = plan.command === 'convert';
      if (!convert && schema.steps !== undefined) engine.checkSteps(schema.steps, () => reader.name);
      if (target && outFormat) {
        refuseNestedLong(schema, outFormat, plan, reader.name);
        if (plan.output?.folder) makeFolder(path.dirname(target.path));
        writer = await openWriter(target.path, {
          format: outFormat,
          inputFormat,
          dtype: target.dtype,
          keepTypes: plan.command === 'convert',
          table: plan.table,
          compression: plan.compression,
          rowGroupSize: plan.rowGroupSize,
          threads: plan.threads,
          offThreadAfter: plan.offThreadAfter,
        });
        await writer.start(schema);
        shaper = new Reshaper(writer, schema, holdBytes);
      }
      out = new Scratch(writer?.valueType ?? 'float64');
      if (convert) await copy(reader, shaper!);
      else if (engine.usesInstanceStats) await twoPasses(reader, driver, shaper, out, holdBytes);
      else await onePass(reader, driver, shaper!, out);
      driver.endInput();
      // A file truncated or rewritten under us must not become a committed output.
      checkInputsUnchanged();
      instances += driver.finishedInstances;
      for (const c of increasing?.increasing() ?? []) timeLike.add(schema.channelNames![c]!);
      const hint = driver.finishedInstances === 1 ? watch?.hint() : undefined;
      if (hint) grouping.push({ file: reader.name, hint });
      nanSeries += engine.nanSeries;
      await shaper?.finish();
      await writer?.finish();
    } catch (err) {
      await shaper?.close();
      await writer?.abort();
      throw causeOfFailure(err);
    } finally {
      out?.release();
      await reader.close();
    }
  }

  if (plan.copyOthers && plan.output?.folder) for (const f of plan.others ?? []) await copyOther(f, path.join(plan.output.path, f.relative));

  let stats: StatsFile | undefined;
  if (running && first) {
    const sketch = sketches && sketches.channels.length === first.channels ? sketches.toJSON() : undefined;
    stats = statsFileOf({
      channels: first.channels,
      names: first.names,
      eps,
      momentum,
      end: running.state(),
      start: running.start,
      affine,
      sketch,
      startSketch: sketch && startSketch,
    });
    if (plan.saveStats) await writeTextOutput(plan.saveStats, formatStats(stats, plan.saveStats, plan.nan));
  }
  return { instances, nanSeries, channels: first?.channels ?? 0, stats, timeLikeChannels: timeLikeChannels(plan, first?.names, timeLike), grouping };
}

/**
 * Where an input's output goes in an output folder: its relative path, with the extension of
 * --to's format where one is given; otherwise in the input's own format, an Arrow stream named
 * .arrow (as Hugging Face `datasets` writes them) staying a stream.
 */
async function folderTarget(output: OutputPlan, input: InputPlan, inputFormat: FormatName): Promise<OutputPlan> {
  const relative = input.relative ?? path.basename(input.path);
  if (output.format !== undefined) {
    const bare = relative.replace(/\.gz$/i, '');
    const ext = path.extname(bare);
    const renamed =
      formatFromPath(relative) === output.format ? relative : `${ext ? bare.slice(0, -ext.length) : bare}${formatOf(output.format).extensions[0]}`;
    return { ...output, path: path.join(output.path, renamed) };
  }
  const format = inputFormat === 'arrow' && (await isArrowStream(input.path)) ? 'arrows' : inputFormat;
  return { ...output, path: path.join(output.path, relative), format };
}

async function isArrowStream(file: string): Promise<boolean> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await fd.read(head, 0, 6, 0);
    return bytesRead >= 4 && head.toString('latin1', 0, 6) !== 'ARROW1';
  } finally {
    await fd.close();
  }
}

/**
 * One column holding every channel as a list of lists (`target`, C x L) has no long form here: a
 * row per step would need a column per channel, and writing the first alone would lose the rest.
 */
function refuseNestedLong(schema: SeriesReader['schema'], format: FormatName, plan: Plan, name: string): void {
  if (!schema.nestedChannels) return;
  const long = format === 'csv' || format === 'tsv' || (format !== 'npy' && (plan.table?.outputLayout ?? 'list') === 'long');
  if (!long) return;
  throw new TsnormError(
    `${name}: column '${schema.nestedChannels}' holds every channel as a list of lists, which a row per time step (${format.toUpperCase()}${format === 'csv' || format === 'tsv' ? '' : ', --output-layout long'}) cannot hold in one column: write the list layout (Arrow or Parquet), or NPY`,
    'TSNORM_OUTPUT',
  );
}

/** The folders of an output folder's file, made as needed. */
function makeFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw ioError(dir, err);
  }
}

/** A file of an input folder that is not data, copied to the output folder as it is (atomically, as outputs are). */
async function copyOther(file: { path: string }, to: string): Promise<void> {
  makeFolder(path.dirname(to));
  const tmp = path.join(path.dirname(to), `.tsnorm-${process.pid}-${path.basename(to)}.tmp`);
  try {
    await fs.promises.copyFile(file.path, tmp);
    await fs.promises.rename(tmp, to);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw new TsnormError(`${file.path}: cannot copy it to ${to}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'TSNORM_IO');
  }
}

/** The reader, its blocks (the first pass: the input's values, once) shown to each observer as they go by. */
function observedReader(reader: SeriesReader, observers: readonly ((b: DataBlock) => void)[]): SeriesReader {
  async function* blocks(): AsyncIterable<readonly DataBlock[]> {
    for await (const group of reader.blocks()) {
      for (const b of group) for (const see of observers) see(b);
      yield group;
    }
  }
  return new Proxy(reader, {
    get: (target, key) => {
      if (key === 'blocks') return blocks;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A parameter file that names its channels must name the input's, in order. */
function checkChannelNames(p: LoadedParams, names: readonly string[] | undefined): void {
  if (p.channels && names && p.channels.join('\u0000') !== names.join('\u0000')) {
    throw new TsnormError(`${p.file}: channels [${p.channels.join(', ')}] differ from the input's [${names.join(', ')}]`, 'TSNORM_PARAMS');
  }
}

function loadAffine(p: LoadedParams, channels: number, names: readonly string[] | undefined): Affine {
  if (!p.weight && !p.bias) throw new TsnormError(`${p.file}: has no "weight" and "bias" (expected {"weight": [...], "bias": [...]})`, 'TSNORM_PARAMS');
  checkChannelNames(p, names);
  return { weight: perChannel(p.weight, `${p.prefix}weight`, channels, p.file), bias: perChannel(p.bias, `${p.prefix}bias`, channels, p.file) };
}

function loadRunning(plan: Plan, channels: number, momentum: RunningStats['momentum'], names?: readonly string[]): RunningStats {
  const s = plan.stats;
  if (!s) {
    if (!plan.training) throw new TsnormError('eval with running statistics needs --stats FILE (running statistics to apply)', 'TSNORM_USAGE');
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
  /** Writes the blocks and turns to the other array; releases them when the writer is done with them. */
  async write(shaper: Reshaper, blocks: readonly DataBlock[]): Promise<void> {
    if (await shaper.write(blocks)) for (const b of blocks) b.release?.();
    this.current ^= 1;
  }
  release(): void {
    for (const a of this.arrays) releaseValues(a);
  }
}

/**
 * Transformed blocks waiting to be written together: they share one output array (the input's
 * group, transformed at the same indices), so a whole group goes to the writer in one call.
 */
class ReadyBlocks {
  private blocks: DataBlock[] = [];
  private input: Values | undefined;

  constructor(
    private readonly shaper: Reshaper | undefined,
    private readonly out: Scratch,
  ) {}

  /** Transforms `b` into the current output array and keeps it for the next flush. */
  async add(driver: EngineDriver, b: DataBlock): Promise<void> {
    // Blocks of another input array would land at their own indices in the same output array.
    if (b.values !== this.input) await this.flush();
    this.input = b.values;
    if (!this.shaper) {
      // Statistics only (fit): the block is done with.
      b.release?.();
      return;
    }
    const values = this.out.get(b.values.length);
    driver.transform(b, values);
    this.blocks.push({ ...b, values });
  }

  async flush(): Promise<void> {
    this.input = undefined;
    if (this.blocks.length === 0) return;
    await this.out.write(this.shaper!, this.blocks.splice(0));
  }
}

/** Training (or no running stats): statistics as blocks arrive, then each completed unit transformed. */
async function twoPasses(reader: SeriesReader, driver: EngineDriver, shaper: Reshaper | undefined, out: Scratch, holdBytes: number): Promise<void> {
  const units = new UnitAssembler(reader, holdBytes);
  const ready = new ReadyBlocks(shaper, out);
  const finish = async (u: Unit): Promise<void> => {
    driver.finishUnit(u.instance, u.firstChannel, u.channelCount, u.steps);
    for await (const b of u.replay()) {
      await ready.add(driver, b);
      // A spilled or re-read unit may refill one array for each block: write each at once.
      if (u.streamed) await ready.flush();
    }
    if (u.endsInstance) driver.endInstance();
    await u.release();
  };
  try {
    await readBlocks(reader, {
      async block(b) {
        for (const u of units.before(b)) await finish(u);
        driver.see(b);
        for (const u of units.accept(b)) await finish(u);
      },
      async groupEnd() {
        await ready.flush();
        units.endOfGroup();
      },
    });
    for (const u of units.finish()) await finish(u);
    await ready.flush();
  } finally {
    await units.close();
  }
}

/** Eval with running stats: each block transformed and written as it arrives. */
async function onePass(reader: SeriesReader, driver: EngineDriver, shaper: Reshaper, out: Scratch): Promise<void> {
  const ready = new ReadyBlocks(shaper, out);
  await readBlocks(reader, {
    block: (b) => ready.add(driver, b),
    groupEnd: () => ready.flush(),
    instanceEnd: () => driver.endInstance(),
  });
}

/** Convert: the reader's blocks to the writer as they are. */
async function copy(reader: SeriesReader, shaper: Reshaper): Promise<void> {
  await readBlocks(reader, {
    block() {},
    async groupEnd(group) {
      const done = await shaper.write(group);
      // These are the reader's own buffers, which it refills: the writer must be done with them.
      await shaper.write([]);
      if (done) for (const b of group) b.release?.();
    },
  });
}
