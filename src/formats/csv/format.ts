import { TsnormError } from '../../errors.js';
import { DEFAULT_TABLE, type FormatDescriptor, type TableOptions } from '../format.js';
import type { FormatName } from '../types.js';

/** CSV and TSV: text tables, in the long layout (a row per time step) or the wide one (a row per series). */
function textFormat(name: 'csv' | 'tsv', extensions: readonly string[]): FormatDescriptor {
  return {
    name,
    extensions,
    binary: false,
    family: 'text',
    async openReader(src, options) {
      const table = options.table ?? DEFAULT_TABLE;
      if (table.layout === 'list') throw new TsnormError(`${src.name}: --layout list is for Arrow input; CSV/TSV layouts are long and wide`, 'TSNORM_USAGE');
      const common = { ...table, delimiter: delimiterOf(name, table), live: options.live, exact: options.exact };
      if (table.layout === 'wide') {
        const { WideCsvReader } = await import('./wide-reader.js');
        return WideCsvReader.open(src, common);
      }
      const { LongCsvReader } = await import('./long-reader.js');
      return LongCsvReader.open(src, common);
    },
    async openWriter(sink, options) {
      const table = options.table ?? DEFAULT_TABLE;
      const { CsvWriter } = await import('./writer.js');
      return new CsvWriter(sink, {
        delimiter: outputDelimiterOf(name, options.inputFormat, table),
        precision: table.precision,
        header: table.header,
        threads: options.threads,
        offThreadAfter: options.offThreadAfter,
        keepTypes: options.keepTypes,
      });
    },
  };
}

function delimiterOf(format: FormatName, table: TableOptions): string {
  return table.delimiter ?? (format === 'tsv' ? '\t' : ',');
}

function outputDelimiterOf(format: FormatName, inputFormat: FormatName, table: TableOptions): string {
  return table.outputDelimiter ?? (format === inputFormat ? delimiterOf(format, table) : format === 'tsv' ? '\t' : ',');
}

export const csv = textFormat('csv', ['.csv']);
export const tsv = textFormat('tsv', ['.tsv', '.tab']);
