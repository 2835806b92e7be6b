import { TsnormError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import type { ColumnSpec, DataBlock, ElementType, Location, RowText, Schema, SeriesReader } from '../types.js';
import { roundedIntegerMessage } from '../number-text.js';
import { cellForMessage, shownText } from './byte-text.js';
import { type ColumnNames, type ColumnOptions, resolveColumns } from './columns.js';
import { IdRegistry } from '../id-registry.js';
import { Lease } from '../../io/lease.js';
import { CsvPassColumn, inferColumnType, misfitError } from './pass-columns.js';
import { roundedInteger } from './numbers.js';
import { type RecordBatch, cellNumber, cellText, readNumbers } from './records.js';
import { type TextRecords, cellError, startCsv } from './text-records.js';

export interface CsvReaderOptions extends ColumnOptions {
  readonly delimiter: string;
  readonly header: boolean;
  /**
   * Rows are used as they arrive and no statistics are computed (eval, convert): reads from a
   * pipe take what has arrived. Otherwise reads wait for whole 64 KB pieces, so that the results
   * are the same bits from a pipe, a gzip stream or a file.
   */
  readonly live?: boolean | undefined;
  /**
   * A channel cell float64 cannot hold exactly (an integer beyond 2^53) is an error rather than
   * rounded: for `convert`, which changes no value.
   */
  readonly exact?: boolean | undefined;
}

/**
 * The long layout: a header, one row per time step, channels as columns. Consecutive rows with
 * the same --id value form an instance (without --id, the whole file is one). Every other column
 * passes through: blocks carry their rows' text (written back byte for byte by a CSV writer of
 * the same dialect) and typed views of the other cells (for other formats).
 */
export class LongCsvReader implements SeriesReader {
  readonly schema: Schema;
  /** Each batch is parsed into arrays of its own. */
  readonly reusesBuffers = false;
  readonly rereadable = false;
  private readonly channels: readonly number[];
  private readonly channelColumns: Int32Array;
  private readonly exact: boolean;
  /** Column index of each pass-through column (the id among them), in schema order, and its type. */
  private readonly carried: { column: number; type: ElementType; name: string; declared: boolean; id: boolean }[];
  // Instance tracking across batches.
  private instance = -1;
  private step = 0;
  /** Whether a first instance has begun (rows are checked a batch ahead of the instance count). */
  private begun = false;
  private currentId: string | undefined;
  /** The current id's bytes, when its cell was not quoted. */
  private currentIdBytes: Uint8Array | undefined;
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
    this.exact = options.exact ?? false;
    this.channelColumns = Int32Array.from(channels);
    const isChannel = new Set(channels);
    const columns: ColumnSpec[] = [];
    this.carried = [];
    for (let i = 0; i < names.count; i++) {
      if (isChannel.has(i)) {
        columns.push({ name: names.name(i), type: 'float64', role: 'channel' });
        continue;
      }
      const declared = options.types?.get(names.name(i));
      const type = declared ?? inferColumnType(firstData, i);
      columns.push({ name: names.name(i), type, role: i === idColumn ? 'id' : 'pass' });
      this.carried.push({ column: i, type, name: names.name(i), declared: declared !== undefined, id: i === idColumn });
    }
    this.schema = {
      columns,
      channels: channels.length,
      channelNames: options.header ? channels.map((c) => names.name(c)) : undefined,
      unbatched: idColumn === undefined,
      valueType: 'float64',
      orientation: 'rows',
      describeInstance: (i) => {
        // Ids are registered in instance order: the i-th id is instance i's.
        const id = this.ids.idAt(i);
        return id === undefined ? `instance ${i}` : `instance ${i} (id '${cellForMessage(id)}', from line ${this.ids.lineAt(i)})`;
      },
      instanceId: (i) => {
        const id = this.ids.idAt(i);
        return id === undefined ? undefined : shownText(id);
      },
      textDialect: {
        delimiter: options.delimiter,
        terminator: records.splitter.terminator ?? '\n',
        bom: records.bom,
        headerRaw,
        valueColumns: channels,
        columnCount: names.count,
        rowsAre: 'steps',
      },
    };
  }

  get name(): string {
    return this.records.name;
  }

  static async open(source: ByteSource, options: CsvReaderOptions): Promise<LongCsvReader> {
    const { records, names, headerRaw, first } = await startCsv(source, options.delimiter, options.header, options.live ?? false);
    const cols = resolveColumns(source.name, names, options, first, 0, (options.live ?? false) && !records.exhausted);
    return new LongCsvReader(records, names, cols.id, cols.channels, first, headerRaw, options);
  }

  locate(block: DataBlock, channel: number, step: number): Location {
    const line = block.rows ? block.rows.lines[block.rows.first + step - block.firstStep] : undefined;
    return { line, column: this.names.name(this.channels[channel]!) };
  }

  close(): Promise<void> {
    return this.records.close();
  }

  /** Blocks of rows as they arrive: one group per batch read, cut where the instance changes. */
  async *blocks(): AsyncIterable<readonly DataBlock[]> {
    let batch = this.firstData;
    this.firstData = null;
    for (; batch; batch = await this.records.next()) yield this.blocksOf(batch);
  }

  private blocksOf(batch: RecordBatch): DataBlock[] {
    const C = this.channels.length;
    // The batch's buffers (and these values') go back to the pool once its blocks are written.
    const valuesBuffer = this.records.pool.take(batch.count * C * 8);
    const values = new Float64Array(valuesBuffer, 0, batch.count * C);
    const lease = new Lease(this.records.pool, [...batch.buffers, valuesBuffer]);
    const blocks: DataBlock[] = [];
    let runStart = 0;
    const flush = (end: number): void => {
      if (end > runStart) {
        const rows: RowText = {
          bytes: batch.bytes,
          records: batch.records,
          lines: batch.lines,
          spans: batch.spans,
          columns: batch.columns,
          first: runStart,
          count: end - runStart,
        };
        blocks.push({
          instance: this.instance,
          values,
          offset: runStart * C,
          channelStride: 1,
          stepStride: C,
          firstChannel: 0,
          channelCount: C,
          firstStep: this.step,
          stepCount: end - runStart,
          rows,
          pass: this.carried.map((c) => new CsvPassColumn(rows, c.column, c.type, this.name, c.name, c.declared, c.id)),
          release: lease.hold(),
        });
        this.step += end - runStart;
      }
      runStart = end;
    };
    // The numbers of all rows in one go; a cell that is not a number is reported after the ids of
    // the rows up to its own are checked, as reading row by row (id, then cells) would.
    let bad: { row: number; error: TsnormError } | undefined;
    readNumbers(batch, this.channelColumns, values, (r, col) => {
      const x = cellNumber(batch, r, col);
      if (x !== undefined && !(this.exact && roundedInteger(cellText(batch, r, col), x))) return x;
      const text = cellForMessage(cellText(batch, r, col));
      bad ??= {
        row: r,
        error: cellError(
          this.name,
          batch.lines[r]!,
          this.names.name(col),
          x === undefined
            ? `'${text}' is not a number (a channel column; pass it through with --keep, or choose --channels)`
            : roundedIntegerMessage(`'${text}'`, this.names.name(col)),
        ),
      };
      return NaN;
    });
    const starts: number[] = [];
    const rows = bad ? bad.row + 1 : batch.count;
    for (let r = 0; r < rows; r++) if (this.startsInstance(batch, r)) starts.push(r);
    if (bad) throw bad.error;
    for (const r of starts) {
      flush(r);
      this.instance++;
      this.step = 0;
    }
    flush(batch.count);
    lease.drop();
    return blocks;
  }

  /** Whether row r begins a new instance; refuses an id that comes back after another. */
  private startsInstance(batch: RecordBatch, r: number): boolean {
    const line = batch.lines[r]!;
    if (this.idColumn === undefined) {
      this.lastLine = line;
      const first = !this.begun;
      this.begun = true;
      return first;
    }
    // Most rows continue the instance: their id's bytes are compared without making a string.
    const k = (r * batch.columns + this.idColumn) * 2;
    if (
      this.begun &&
      batch.unquoted[r] === undefined &&
      this.currentIdBytes !== undefined &&
      sameBytes(batch.bytes, batch.spans[k]!, batch.spans[k + 1]!, this.currentIdBytes)
    ) {
      this.lastLine = line;
      return false;
    }
    const id = cellText(batch, r, this.idColumn);
    if (this.begun && id === this.currentId) {
      this.lastLine = line;
      return false;
    }
    // An empty id is the text '' (an instance of its own), which a column of integer ids cannot hold.
    const idColumn = this.carried.find((c) => c.id);
    if (id.trim() === '' && idColumn && idColumn.type !== 'utf8') {
      throw misfitError(this.name, line, idColumn.name, id, `is an empty id, which ${idColumn.type} cannot hold`, idColumn.declared);
    }
    const before = this.ids.lineOf(id);
    if (before !== undefined) {
      throw new TsnormError(
        `${this.name}: line ${line}: id '${cellForMessage(id)}' appears again after other ids (its rows began at line ${before}; ` +
          `line ${this.lastLine} has id '${cellForMessage(this.currentId ?? '')}'); the rows of one instance must be contiguous (sort by id first)`,
        'TSNORM_CSV',
      );
    }
    this.ids.add(id, line);
    this.begun = true;
    this.currentId = id;
    this.currentIdBytes = batch.unquoted[r] === undefined ? batch.bytes.slice(batch.spans[k]!, batch.spans[k + 1]!) : undefined;
    this.lastLine = line;
    return true;
  }
}

function sameBytes(bytes: Uint8Array, from: number, to: number, want: Uint8Array): boolean {
  if (to - from !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (bytes[from + i] !== want[i]) return false;
  return true;
}
