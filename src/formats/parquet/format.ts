import { TsnormError } from '../../errors.js';
import { DEFAULT_TABLE, type FormatDescriptor } from '../format.js';

/** Apache Parquet: columnar files in row groups; long or list layout, as Arrow. */
export const parquet: FormatDescriptor = {
  name: 'parquet',
  extensions: ['.parquet', '.pq'],
  sniff: (head) => head.length >= 4 && String.fromCharCode(...head.subarray(0, 4)) === 'PAR1',
  binary: true,
  family: 'parquet',
  async openReader(src, options) {
    const table = options.table ?? DEFAULT_TABLE;
    if (table.layout === 'wide') throw new TsnormError(`${src.name}: --layout wide is for CSV/TSV input; Parquet layouts are long and list`, 'TSNORM_USAGE');
    const { openParquetReader } = await import('./reader.js');
    return openParquetReader(src, { ...table, layout: table.layout, live: false, exact: options.exact ?? false });
  },
  async openWriter(sink, options) {
    const table = options.table ?? DEFAULT_TABLE;
    const codec = options.compression;
    const { openParquetWriter } = await import('./writer.js');
    return openParquetWriter(sink, {
      dtype: options.dtype,
      keepTypes: options.keepTypes ?? false,
      layout: table.outputLayout ?? (table.layout === 'list' ? 'list' : 'long'),
      codec,
      rowGroupRows: options.rowGroupSize,
    });
  },
};
