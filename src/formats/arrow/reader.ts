import fs from 'node:fs';
import type * as A from 'apache-arrow';
import { TsnormError } from '../../errors.js';
import { type ByteSource, openInput, readFully } from '../../io/byte-source.js';
import { createScratchFile, removeTempFile, writeScratch } from '../../io/temp-files.js';
import type { SeriesReader } from '../types.js';
import { registerDecoders } from './codecs.js';
import { openArrowFile } from './file.js';
import { ListArrowReader } from './list-reader.js';
import { LongArrowReader } from './long-reader.js';
import { checkFooterMetadata } from './metadata.js';
import { type ArrowReaderOptions, type BatchSource, arrowError } from './reader-base.js';
import { ArrowMessages } from './stream.js';
import { messageAt } from './validate.js';

export type { ArrowReaderOptions } from './reader-base.js';

/**
 * Opens Arrow IPC input: the file format (Feather v2) from a seekable file is read through its
 * footer, a record batch at a time (from a pipe, after a copy to a scratch file); the stream
 * format message by message, each batch used as soon as it has arrived. Either way one batch is
 * in memory at a time. LZ4_FRAME and ZSTD bodies are decompressed by the registered codecs.
 */
export async function openArrowReader(input: ByteSource, options: ArrowReaderOptions): Promise<SeriesReader> {
  registerDecoders();
  const head = await input.peek(6);
  const isFile = String.fromCharCode(...head) === 'ARROW1';
  // The file format is read through its footer, at the end: from a pipe it is copied to a file first.
  const src = isFile && !input.seekable ? await copyToScratch(input) : input;
  let batches: BatchSource;
  try {
    if (isFile) {
      await checkFileEnds(src);
      const file = await openArrowFile(src);
      batches = { schema: file.schema, batches: () => file.batches(), close: async () => {} };
    } else {
      const stream = new ArrowMessages(src, options.live);
      await stream.open();
      batches = { schema: stream.schema!, batches: () => stream.batches(), close: async () => {} };
    }
    checkSchemaNames(batches.schema, `${src.name}: `, `a corrupt ${isFile ? 'file' : 'stream'}`);
  } catch (err) {
    await src.close();
    throw arrowError(src.name, err, isFile);
  }
  return readerOfBatches(src, batches, options);
}

/** The long or the list reader over record batches of any source (Arrow IPC, Parquet). */
export function readerOfBatches(src: ByteSource, batches: BatchSource, options: ArrowReaderOptions): Promise<SeriesReader> | SeriesReader {
  return options.layout === 'list' ? ListArrowReader.open(src, batches, options) : new LongArrowReader(src, batches, options);
}

/** Refuses a schema without columns or with a column without a name (what damage reads as). */
export function checkSchemaNames(schema: A.Schema, at: string, damage: string): void {
  // A schema without columns is what a damaged schema reads as (and nothing to normalize anyway).
  if (schema.fields.length === 0) throw new TsnormError(`${at}the Arrow schema has no columns (${damage}, or a table without columns)`, 'TSNORM_ARROW');
  // A name is optional in the flatbuffer, but every column is found and written by its name.
  const unnamed = schema.fields.findIndex((f) => typeof f.name !== 'string');
  if (unnamed >= 0) throw new TsnormError(`${at}column ${unnamed} of the Arrow schema has no name (${damage}?)`, 'TSNORM_ARROW');
}

/**
 * A file ends with its footer, the footer's length and the magic again: a truncated file or a
 * broken footer is said so here (apache-arrow would fail on a null deep inside).
 */
async function checkFileEnds(src: ByteSource): Promise<void> {
  const size = src.size ?? 0;
  const tail = new Uint8Array(10);
  const got = size >= 16 ? await src.read(tail, 0, 10, size - 10) : 0;
  if (got < 10 || String.fromCharCode(...tail.subarray(4)) !== 'ARROW1') {
    throw new TsnormError(`${src.name}: truncated Arrow file: it does not end with the footer and the ARROW1 magic (${size} bytes)`, 'TSNORM_ARROW');
  }
  const footer = new DataView(tail.buffer).getInt32(0, true);
  if (footer <= 0 || footer > size - 18)
    throw new TsnormError(`${src.name}: corrupt Arrow file: its footer length (${footer}) does not fit the file (${size} bytes)`, 'TSNORM_ARROW');
  const bytes = new Uint8Array(footer);
  if ((await readFully(src, bytes, 0, footer, size - 10 - footer)) < footer)
    throw new TsnormError(`${src.name}: truncated Arrow file: its footer cannot be read`, 'TSNORM_ARROW');
  const dictionaries = checkFooterMetadata(bytes, `${src.name}: the footer`);
  for (const [i, d] of dictionaries.entries()) {
    if (!(d.offset >= 8 && d.metaDataLength > 8 && d.offset + d.metaDataLength <= size)) {
      throw new TsnormError(
        `${src.name}: corrupt Arrow file: its footer places dictionary batch ${i} at bytes ${d.offset}..${d.offset + d.metaDataLength}, outside the file (${size} bytes)`,
        'TSNORM_ARROW',
      );
    }
    const framed = new Uint8Array(d.metaDataLength);
    await readFully(src, framed, 0, framed.length, d.offset);
    messageAt(framed, 0, `${src.name}: corrupt Arrow file: dictionary batch ${i}`);
  }
}

/** A pipe's bytes in a scratch file (removed with the reader), read like a file. */
export async function copyToScratch(src: ByteSource): Promise<ByteSource> {
  const file = createScratchFile('arrow');
  try {
    const buf = new Uint8Array(1 << 20);
    for (let n: number; (n = await src.read(buf, 0, buf.length, 0)) > 0; ) writeScratch(file.fd, buf, 0, n, null);
  } finally {
    fs.closeSync(file.fd);
    await src.close();
  }
  const copy = await openInput(file.path);
  return {
    name: src.name,
    size: copy.size,
    seekable: true,
    read: (buf, offset, length, position) => copy.read(buf, offset, length, position),
    peek: (n) => copy.peek(n),
    async close() {
      await copy.close();
      await removeTempFile(file.path);
    },
  };
}
