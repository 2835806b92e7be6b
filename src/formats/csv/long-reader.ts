import type { Block } from '../../core/block.js';
import { TsnormError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import type { SeriesLayout, SeriesReader, StatsUnit } from '../types.js';
import { cellForMessage } from './byte-text.js';
import { IdRegistry } from './id-registry.js';
import { type ColumnNames, type ColumnOptions, resolveColumns } from './columns.js';
import type { CsvRowsPayload, CsvShape } from './payload.js';
import { type RecordBatch, cellNumber, cellText } from './records.js';
import { CsvSpill } from './spill.js';
import { type TextRecords, cellError, startCsv } from './text-records.js';

export interface CsvReaderOptions extends ColumnOptions {
  readonly delimiter: string;
  readonly header: boolean;
  /** Bytes of one instance held in memory before it spills to a temporary file. */
  readonly budgetBytes?: number | undefined;
  /**
   * Rows are used as they arrive and no statistics are computed (eval, convert): reads from a
   * pipe take what has arrived. Otherwise reads wait for whole 64 KB pieces, so that the results
   * are the same bits from a pipe, a gzip stream or a file.
   */
  readonly live?: boolean | undefined;
}

export const DEFAULT_INSTANCE_BUDGET = 64 << 20;

/**
 * The long layout: a header, one row per time step, channels as columns. Consecutive rows with
 * the same --id value form an instance (without --id, the whole file is one). Other columns
 * ride along in each block's payload and are written back byte for byte.
 */
export class LongCsvReader implements SeriesReader {
  readonly layout: SeriesLayout & { readonly csv: CsvShape };
  private readonly channels: readonly number[];
  private readonly budget: number;
  // Instance tracking across batches.
  private instance = -1;
  private step = 0;
  private currentId: string | undefined;
  private readonly ids = new IdRegistry();
  private lastLine = 0;

  private constructor(
    private readonly records: TextRecords,
    private readonly names: ColumnNames,
    private readonly idColumn: number | undefined,
    channels: readonly number[],
    private firstData: RecordBatch | null,
    headerRaw: string | undefined,
    options: CsvReaderOptions,
  ) {
    this.channels = channels;
    this.budget = options.budgetBytes ?? DEFAULT_INSTANCE_BUDGET;
    this.layout = {
      channels: channels.length,
      channelNames: options.header ? channels.map((c) => names.name(c)) : undefined,
      unbatched: idColumn === undefined,
      describeInstance: (i) => {
        // Ids are registered in instance order: the i-th id is instance i's.
        const id = this.ids.idAt(i);
        return id === undefined ? `instance ${i}` : `instance ${i} (id '${cellForMessage(id)}', from line ${this.ids.lineAt(i)})`;
      },
      csv: {
        layout: 'long', valueColumns: channels, columns: names.count, headerRaw, delimiter: options.delimiter,
        terminator: records.splitter.terminator ?? '\n', bom: records.bom,
      },
    };
  }

  get name(): string {
    return this.records.name;
  }

  static async open(source: ByteSource, options: CsvReaderOptions): Promise<LongCsvReader> {
    const { records, names, headerRaw, first } = await startCsv(source, options.delimiter, options.header, options.live ?? false);
    const cols = resolveColumns(source.name, names, options, first);
    return new LongCsvReader(records, names, cols.id, cols.channels, first, headerRaw, options);
  }

  locate(block: Block, channel: number, step: number): string {
    const p = block.payload as CsvRowsPayload;
    return `line ${p.lines[p.first + step - block.firstStep]}, column '${this.names.name(this.channels[channel]!)}'`;
  }

  close(): Promise<void> {
    return this.records.close();
  }

  /** Blocks of rows as they arrive: one group per batch read, cut where the instance changes. */
  async *blocks(): AsyncIterable<readonly Block[]> {
    let batch = this.firstData;
    this.firstData = null;
    for (; batch; batch = await this.records.next()) yield this.blocksOf(batch);
  }

  /**
   * One unit per instance: its blocks held in memory, or spilled to a temporary file once they
   * pass the budget. An instance's unit is yielded when the next instance starts (or at the end).
   */
  async *units(): AsyncIterable<readonly StatsUnit[]> {
    let pieces: Block[] = [];
    let bytes = 0;
    let steps = 0;
    let spill: CsvSpill | null = null;
    const spills: CsvSpill[] = [];
    const C = this.channels.length;
    // Statistics are merged from the pieces reads produce: a reader opened for them (not live)
    // reads whole pieces, so they are the same from a pipe as from a file.
    const finish = (): StatsUnit => {
      const held = pieces;
      const spilled = spill;
      const unit: StatsUnit = {
        instance: held[0]?.instance ?? this.instance, firstChannel: 0, channelCount: C, steps, endsInstance: true,
        ...(spilled === null && held.length === 1
          ? { block: held[0] }
          : { async *pass() { yield* spilled ? spilled.read() : held; } }),
      };
      pieces = [];
      bytes = 0;
      steps = 0;
      spill = null;
      return unit;
    };
    try {
      for await (const blocks of this.blocks()) {
        const done: StatsUnit[] = [];
        for (const b of blocks) {
          if (steps > 0 && b.firstStep === 0) done.push(finish());
          steps += b.stepCount;
          if (spill) { spill.write(b); continue; }
          pieces.push(b);
          bytes += blockBytes(b);
          if (bytes > this.budget) {
            spill = new CsvSpill();
            spills.push(spill);
            for (const p of pieces) spill.write(p);
            pieces = [];
          }
        }
        if (done.length > 0) yield done;
        // Spill files of instances already processed are no longer needed.
        while (spills.length > (spill ? 1 : 0)) await spills.shift()!.remove();
      }
      if (steps > 0) yield [finish()];
    } finally {
      for (const s of spills) await s.remove();
    }
  }

  private blocksOf(batch: RecordBatch): Block[] {
    const C = this.channels.length;
    const values = new Float64Array(batch.count * C);
    const payload = (first: number): CsvRowsPayload => ({ kind: 'csv-rows', raws: batch.raws, lines: batch.lines, spans: batch.spans, columns: batch.columns, first });
    const blocks: Block[] = [];
    let runStart = 0;
    const flush = (end: number): void => {
      if (end > runStart) {
        blocks.push({
          instance: this.instance, values, offset: runStart * C, channelStride: 1, stepStride: C,
          firstChannel: 0, channelCount: C, firstStep: this.step, stepCount: end - runStart, payload: payload(runStart),
        });
        this.step += end - runStart;
      }
      runStart = end;
    };
    for (let r = 0; r < batch.count; r++) {
      if (this.startsInstance(batch, r)) {
        flush(r);
        this.instance++;
        this.step = 0;
      }
      for (let k = 0; k < C; k++) {
        const col = this.channels[k]!;
        const x = cellNumber(batch, r, col);
        if (x === undefined) throw cellError(this.name, batch.lines[r]!, this.names.name(col), `'${cellForMessage(cellText(batch, r, col))}' is not a number (a channel column; pass it through with --keep, or choose --channels)`);
        values[r * C + k] = x;
      }
    }
    flush(batch.count);
    return blocks;
  }

  /** Whether row r begins a new instance; refuses an id that comes back after another. */
  private startsInstance(batch: RecordBatch, r: number): boolean {
    const line = batch.lines[r]!;
    if (this.idColumn === undefined) {
      this.lastLine = line;
      return this.instance < 0;
    }
    const id = cellText(batch, r, this.idColumn);
    if (this.instance >= 0 && id === this.currentId) {
      this.lastLine = line;
      return false;
    }
    const before = this.ids.lineOf(id);
    if (before !== undefined) {
      throw new TsnormError(`${this.name}: line ${line}: id '${cellForMessage(id)}' appears again after other ids (its rows began at line ${before}; ` +
        `line ${this.lastLine} has id '${cellForMessage(this.currentId ?? '')}'); the rows of one instance must be contiguous (sort by id first)`);
    }
    this.ids.add(id, line);
    this.currentId = id;
    this.lastLine = line;
    return true;
  }
}

/** Rough memory a block of rows holds: values, spans, and the row texts (UTF-16). */
function blockBytes(b: Block): number {
  const p = b.payload as CsvRowsPayload;
  let text = 0;
  for (let r = p.first; r < p.first + b.stepCount; r++) text += p.raws[r]!.length * 2 + 40;
  return b.stepCount * (b.channelCount * 8 + p.columns * 8) + text;
}

