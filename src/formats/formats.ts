import { arrow, arrows } from './arrow/format.js';
import { csv, tsv } from './csv/format.js';
import type { FormatDescriptor } from './format.js';
import { npy } from './npy/format.js';
import { parquet } from './parquet/format.js';
import type { FormatName } from './types.js';

/**
 * The formats tsnorm reads and writes, each declared once in its folder. A new format is a folder
 * with a format.ts and a line here (and its name in FormatName).
 */
export const FORMAT_LIST: readonly FormatDescriptor[] = [csv, tsv, npy, arrow, arrows, parquet];

/** A format's descriptor by name. */
export function formatOf(name: FormatName): FormatDescriptor {
  const found = FORMAT_LIST.find((f) => f.name === name);
  if (!found) throw new Error(`no format '${name}'`);
  return found;
}
