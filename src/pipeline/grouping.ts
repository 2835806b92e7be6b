import type { DataBlock, ElementType, Location, Schema } from '../formats/types.js';
import { channelStart } from '../core/block.js';

/** Column types that can name instances: text and integers (not floats, times or dates). */
const ID_LIKE: ReadonlySet<ElementType> = new Set(['utf8', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']);

/** Words of a column name that say it holds time, not a measurement nor an id. */
const TIME_WORDS = new Set(['ts', 'time', 'timestamp', 'datetime', 'date', 'epoch']);

/** Whether a column's name says it holds time: `ts`, `event_time`, `eventTime`, `Date` (words as snake_case, kebab-case, spaces and camelCase separate them). */
export function namedLikeTime(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some((word) => TIME_WORDS.has(word));
}

/** Text that is a date or a time of day (2024-01-01, 2024-01-01T00:00:05, 12:00:01): time, in runs when rows are more often than it ticks. */
const TIME_TEXT = /^\s*(\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}(:\d{2})?)/;

/** A column that looks like it groups the rows of a file read as one instance. */
export interface GroupingHint {
  readonly column: string;
  /** How many times its value changes from one row to the next. */
  readonly changes: number;
  /** The row where it first changes. */
  readonly at: Location | undefined;
}

/** Values whose run has ended remembered per column, to see one come back (beyond them, a column is still taken). */
const REMEMBERED = 10_000;

/**
 * Watches the columns that pass through a long-layout input read without --id: a text or integer
 * column whose value changes between rows in runs, as an id does (each value in one run of rows,
 * never back after it ended; runs of two rows or more on average), says the rows belong to
 * several instances, which one statistics over them all would blur. A column that changes at
 * nearly every row is a time or a row key, one named like time or holding dates or times as text
 * is time (in runs when rows come faster than it ticks), and one whose values come back (a
 * status, a label) a property of rows: none is a grouping.
 */
export class GroupingWatch {
  private readonly columns: {
    pass: number;
    name: string;
    last: string | undefined;
    changes: number;
    at: Location | undefined;
    ended: Set<string>;
    returns: boolean;
  }[];
  private rows = 0;

  constructor(schema: Schema) {
    this.columns = schema.columns
      .filter((c) => c.role !== 'channel' && !c.generated)
      // Time (by its name) changes in runs when rows come faster than it ticks: not a grouping.
      .flatMap((c, pass) =>
        ID_LIKE.has(c.type) && !namedLikeTime(c.name)
          ? [{ pass, name: c.name, last: undefined, changes: 0, at: undefined, ended: new Set<string>(), returns: false }]
          : [],
      );
  }

  /** Whether there is anything to watch (long-layout rows with a text or integer column). */
  get watching(): boolean {
    return this.columns.length > 0;
  }

  see(b: DataBlock, locate: (b: DataBlock, channel: number, step: number) => Location): void {
    if (b.firstChannel !== 0 || !b.pass) return;
    this.rows += b.stepCount;
    for (const c of this.columns) {
      const column = b.pass[c.pass];
      if (!column || c.returns) continue;
      for (let t = 0; t < b.stepCount; t++) {
        const text = column.text(t);
        if (c.last !== undefined && text !== c.last) {
          // A date or time as text, whatever the column is named: time, not a grouping.
          if (c.ended.has(text) || (c.changes === 0 && TIME_TEXT.test(text))) {
            c.returns = true;
            break;
          }
          if (c.ended.size < REMEMBERED) c.ended.add(c.last);
          c.changes++;
          c.at ??= { ...locate(b, 0, b.firstStep + t), column: c.name };
        }
        c.last = text;
      }
    }
  }

  /** The column that changes value most often, in runs, if one does. */
  hint(): GroupingHint | undefined {
    const found = this.columns.filter((c) => !c.returns && c.changes > 0 && c.changes * 2 <= this.rows).sort((a, b) => b.changes - a.changes)[0];
    return found && { column: found.name, changes: found.changes, at: found.at };
  }
}

/** The hint as a sentence: "one instance, but column 'device' changes value 149 times". */
export function groupingText(h: GroupingHint): string {
  return `one instance, but column '${h.column}' changes value ${h.changes} time${h.changes === 1 ? '' : 's'}`;
}

/** Steps in a row of one instance over which a channel's integers must increase before they say "time". */
const INCREASING_RUN = 3;
/** Rows a channel must have been seen increasing over, in all: a handful of small integers in a toy table say nothing. */
const INCREASING_ROWS = 16;
/** 2000-01-01 in seconds since the epoch: epoch times in seconds, ms, us or ns are all above it. */
const EPOCH_LIKE = 946_684_800;

/**
 * Watches the channels of a long-layout input, taken by default: one whose values are integers
 * that increase from each row to the next within every instance, and either by one step
 * throughout (a step counter, a sample clock) or at epoch-like sizes (times since 1970, however
 * irregular), is most likely time, which normalizing turns into noise around zero. A measurement
 * that happens to rise (an ADC warming up, a battery charging) rises by uneven steps at small
 * sizes, and over a toy table's few rows nothing is said. A channel leaves the watch at its first
 * value that rules it out, so a measurement costs a value or two.
 */
export class IncreasingWatch {
  private readonly watched: Set<number>;
  private readonly last: Float64Array;
  private readonly lastInstance: Float64Array;
  private readonly run: Float64Array;
  private readonly longEnough: Uint8Array;
  private readonly rows: Float64Array;
  /** The one step seen so far (NaN before the first); `regular` while every step is it. */
  private readonly step: Float64Array;
  private readonly regular: Uint8Array;
  private readonly epochLike: Uint8Array;

  constructor(channels: number) {
    this.watched = new Set(Array.from({ length: channels }, (_, c) => c));
    this.last = new Float64Array(channels);
    this.lastInstance = new Float64Array(channels).fill(-1);
    this.run = new Float64Array(channels);
    this.longEnough = new Uint8Array(channels);
    this.rows = new Float64Array(channels);
    this.step = new Float64Array(channels).fill(Number.NaN);
    this.regular = new Uint8Array(channels).fill(1);
    this.epochLike = new Uint8Array(channels).fill(1);
  }

  get watching(): boolean {
    return this.watched.size > 0;
  }

  see(b: DataBlock): void {
    for (const c of this.watched) {
      if (c < b.firstChannel || c >= b.firstChannel + b.channelCount) continue;
      const from = channelStart(b, c);
      for (let t = 0; t < b.stepCount; t++) {
        const x = b.values[from + t * b.stepStride]!;
        if (x !== x) continue; // missing: says nothing
        if (!Number.isInteger(x)) {
          this.watched.delete(c);
          break;
        }
        if (x < EPOCH_LIKE) this.epochLike[c] = 0;
        if (b.instance !== this.lastInstance[c]) {
          this.lastInstance[c] = b.instance;
          this.run[c] = 0;
        } else {
          const d = x - this.last[c]!;
          if (!(d > 0)) {
            this.watched.delete(c);
            break;
          }
          if (this.step[c] !== this.step[c]) this.step[c] = d;
          else if (d !== this.step[c]) this.regular[c] = 0;
        }
        if (this.regular[c] === 0 && this.epochLike[c] === 0) {
          this.watched.delete(c);
          break;
        }
        this.last[c] = x;
        this.rows[c]!++;
        if (++this.run[c]! >= INCREASING_RUN) this.longEnough[c] = 1;
      }
    }
  }

  /** The channels that look like time: see the class. */
  increasing(): number[] {
    return [...this.watched].filter((c) => this.longEnough[c] === 1 && this.rows[c]! >= INCREASING_ROWS).sort((a, b) => a - b);
  }
}
