import { TsnormError } from '../../errors.js';
import { DEFAULT_TABLE, type FormatDescriptor, type OutputCodec } from '../format.js';

/** Apache Arrow IPC: the file format (Feather v2) and the stream format; long or list layout. */
function arrowFormat(name: 'arrow' | 'arrows', extensions: readonly string[], sniff: (head: Uint8Array) => boolean): FormatDescriptor {
  return {
    name,
    extensions,
    sniff,
    binary: true,
    family: 'arrow',
    async openReader(src, options) {
      const table = options.table ?? DEFAULT_TABLE;
      if (table.layout === 'wide') throw new TsnormError(`${src.name}: --layout wide is for CSV/TSV input; Arrow layouts are long and list`, 'TSNORM_USAGE');
      const { openArrowReader } = await import('./reader.js');
      return openArrowReader(src, { ...table, layout: table.layout, live: options.live ?? false, exact: options.exact ?? false });
    },
    async openWriter(sink, options) {
      const table = options.table ?? DEFAULT_TABLE;
      const { ArrowWriter } = await import('./writer.js');
      return new ArrowWriter(sink, {
        stream: name === 'arrows',
        dtype: options.dtype,
        keepTypes: options.keepTypes ?? false,
        compression: arrowCodec(options.compression, sink.name),
        layout: table.outputLayout ?? (table.layout === 'list' ? 'list' : 'long'),
      });
    },
  };
}

/** Arrow IPC compresses record batches with LZ4_FRAME or ZSTD; `none` is no compression. */
function arrowCodec(codec: OutputCodec | undefined, name: string): 'lz4' | 'zstd' | undefined {
  if (codec === undefined || codec === 'none') return undefined;
  if (codec === 'lz4' || codec === 'zstd') return codec;
  throw new TsnormError(`--compression ${codec}: Arrow IPC compresses with lz4 or zstd, and ${name} is Arrow (${codec} is for Parquet)`, 'TSNORM_USAGE');
}

export const arrow = arrowFormat('arrow', ['.arrow', '.feather', '.ipc'], (head) => String.fromCharCode(...head.subarray(0, 6)) === 'ARROW1');
// A stream's message starts with the continuation marker 0xFFFFFFFF.
export const arrows = arrowFormat(
  'arrows',
  ['.arrows'],
  (head) => head.length >= 4 && head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff,
);
