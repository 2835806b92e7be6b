import { TsnormError } from '../../errors.js';
import type { ElementType } from '../types.js';
import { parseNumber } from './numbers.js';
import { type RecordBatch, cellText } from './records.js';

export interface ColumnOptions {
  readonly id?: string | undefined;
  readonly channels?: readonly string[] | undefined;
  readonly keep?: readonly string[] | undefined;
  /** Columns with a declared type (--types): they pass through, like --keep's. */
  readonly types?: ReadonlyMap<string, ElementType> | undefined;
}

export interface ResolvedColumns {
  readonly names: ColumnNames;
  /** Column index of each channel, in channel order. */
  readonly channels: readonly number[];
  readonly id: number | undefined;
}

/**
 * The names of a file's columns: its header's cells, or without a header their 1-based
 * positions "1", "2", ... (made on demand: a wide row may have millions of columns).
 */
export class ColumnNames {
  private index: Map<string, number> | undefined;

  private constructor(
    readonly count: number,
    private readonly header: readonly string[] | undefined,
  ) {}

  static fromHeader(names: readonly string[]): ColumnNames {
    return new ColumnNames(names.length, names);
  }

  static positional(count: number): ColumnNames {
    return new ColumnNames(count, undefined);
  }

  name(i: number): string {
    return this.header ? this.header[i]! : String(i + 1);
  }

  /**
   * The column named `name` for `flag`; refuses a name that is not there, or that more than one
   * column has (either could be meant).
   */
  find(name: string, flag: string, file: string): number {
    if (!this.header) {
      const i = /^[1-9]\d*$/.test(name) ? Number(name) - 1 : -1;
      if (i >= 0 && i < this.count) return i;
      throw new TsnormError(`${file}: ${flag}: no column '${name}': without a header, columns are named by position, 1 to ${this.count}`, 'TSNORM_CSV');
    }
    this.index ??= this.buildIndex();
    const i = this.index.get(name);
    if (i === undefined) throw new TsnormError(`${file}: ${flag}: no column '${name}'; the columns are: ${this.listed()}`, 'TSNORM_CSV');
    if (i < 0) throw new TsnormError(`${file}: ${flag}: more than one column is named '${name}'; rename them so that each name is unique`, 'TSNORM_CSV');
    return i;
  }

  /** Refuses a name used by more than one column among `columns` (channel names must tell channels apart). */
  checkUnique(columns: readonly number[], file: string): void {
    if (!this.header) return;
    const seen = new Set<string>();
    for (const c of columns) {
      const n = this.header[c]!;
      if (seen.has(n))
        throw new TsnormError(`${file}: more than one channel column is named '${n}'; rename them, or pick the channels with --channels`, 'TSNORM_CSV');
      seen.add(n);
    }
  }

  /** The names for a message: the first few, and how many there are. */
  listed(): string {
    const shown = Array.from({ length: Math.min(this.count, 20) }, (_, i) => this.name(i)).join(', ');
    return this.count > 20 ? `${shown}, ... (${this.count} columns)` : shown;
  }

  private buildIndex(): Map<string, number> {
    const index = new Map<string, number>();
    this.header!.forEach((n, i) => index.set(n, index.has(n) ? -1 : i));
    return index;
  }
}

/**
 * Which columns are channels: the --channels given, else every column whose first non-missing
 * cell (in the first rows read) is a number, except the id, --keep and --types columns.
 */
export function resolveColumns(
  file: string,
  names: ColumnNames,
  options: ColumnOptions,
  sample: RecordBatch | null,
  skipLeading = 0,
  sampleIsPartial = false,
): ResolvedColumns {
  const index = (name: string, flag: string): number => names.find(name, flag, file);
  const id = options.id === undefined ? undefined : index(options.id, '--id');
  const keep = new Set((options.keep ?? []).map((k) => index(k, '--keep')));
  const typed = new Set([...(options.types?.keys() ?? [])].map((k) => index(k, '--types')));
  let channels: number[];
  if (options.channels) {
    channels = options.channels.map((c) => index(c, '--channels'));
    for (const c of channels) {
      if (c === id) throw new TsnormError(`${file}: --channels: '${names.name(c)}' is the --id column`, 'TSNORM_CSV');
      if (keep.has(c)) throw new TsnormError(`${file}: --channels: '${names.name(c)}' is also in --keep`, 'TSNORM_CSV');
      if (typed.has(c)) throw new TsnormError(`${file}: --types: '${names.name(c)}' is a channel (--types is for the columns that pass through)`, 'TSNORM_CSV');
    }
  } else {
    channels = [];
    for (let i = skipLeading; i < names.count; i++) {
      if (i === id || keep.has(i) || typed.has(i)) continue;
      const kind = sample ? columnKind(sample, i) : 'undecided';
      if (kind === 'number') channels.push(i);
      // Rows used as they arrive (apply, convert from a pipe): a column with no value yet cannot
      // be told apart; guessing would pass a number column through silently.
      if (kind === 'undecided' && sampleIsPartial) {
        throw new TsnormError(
          `${file}: column '${names.name(i)}' has no value in the first rows that arrived, so whether it holds numbers is not known yet: name the channels with --channels (and text or kept columns with --keep)`,
          'TSNORM_CSV',
        );
      }
    }
  }
  if (channels.length === 0) {
    throw new TsnormError(`${file}: no numeric column to normalize (columns: ${names.listed()}); name them with --channels`, 'TSNORM_CSV');
  }
  names.checkUnique(channels, file);
  return { names, channels, id };
}

/** A column is numeric when its first non-missing cell is a number; a bad cell later is then an error, not a silent pass-through. */
function columnKind(sample: RecordBatch, column: number): 'number' | 'text' | 'undecided' {
  for (let r = 0; r < sample.count; r++) {
    const x = parseNumber(cellText(sample, r, column));
    if (x === undefined) return 'text';
    if (x === x) return 'number'; // a NaN, like a missing value, says nothing yet
  }
  return 'undecided';
}
