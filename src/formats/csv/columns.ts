import { TsnormError } from '../../errors.js';
import { parseNumber } from './numbers.js';
import { type RecordBatch, cellText } from './records.js';

export interface ColumnOptions {
  readonly id?: string | undefined;
  readonly channels?: readonly string[] | undefined;
  readonly keep?: readonly string[] | undefined;
}

export interface ResolvedColumns {
  readonly names: readonly string[];
  /** Column index of each channel, in channel order. */
  readonly channels: readonly number[];
  readonly id: number | undefined;
}

/** Without a header, columns are named by their 1-based position: "1", "2", ... */
export function positionalNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(i + 1));
}

/**
 * Which columns are channels: the --channels given, else every column whose first non-missing
 * cell (in the first rows read) is a number, except the id and --keep columns.
 */
export function resolveColumns(file: string, names: readonly string[], options: ColumnOptions, sample: RecordBatch | null, skipLeading = 0): ResolvedColumns {
  const index = (name: string, flag: string): number => {
    const i = names.indexOf(name);
    if (i < 0) throw new TsnormError(`${file}: ${flag}: no column '${name}'; the columns are: ${names.join(', ')}`);
    return i;
  };
  const id = options.id === undefined ? undefined : index(options.id, '--id');
  const keep = new Set((options.keep ?? []).map((k) => index(k, '--keep')));
  let channels: number[];
  if (options.channels) {
    channels = options.channels.map((c) => index(c, '--channels'));
    for (const c of channels) {
      if (c === id) throw new TsnormError(`${file}: --channels: '${names[c]}' is the --id column`);
      if (keep.has(c)) throw new TsnormError(`${file}: --channels: '${names[c]}' is also in --keep`);
    }
  } else {
    channels = [];
    for (let i = skipLeading; i < names.length; i++) {
      if (i === id || keep.has(i)) continue;
      if (sample && isNumericColumn(sample, i)) channels.push(i);
    }
  }
  if (channels.length === 0) {
    throw new TsnormError(`${file}: no numeric column to normalize (columns: ${names.join(', ')}); name them with --channels`);
  }
  return { names, channels, id };
}

/** A column is numeric when its first non-missing cell is a number; a bad cell later is then an error, not a silent pass-through. */
function isNumericColumn(sample: RecordBatch, column: number): boolean {
  for (let r = 0; r < sample.count; r++) {
    const x = parseNumber(cellText(sample, r, column));
    if (x === undefined) return false;
    if (x === x) return true;
  }
  return false;
}
