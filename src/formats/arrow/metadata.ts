import { DictionaryBatch } from 'apache-arrow/fb/dictionary-batch';
import type { Field } from 'apache-arrow/fb/field';
import { Footer } from 'apache-arrow/fb/footer';
import { Message } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { RecordBatch } from 'apache-arrow/fb/record-batch';
import { Schema } from 'apache-arrow/fb/schema';
import { ByteBuffer } from 'flatbuffers';
import { TsnormError } from '../../errors.js';

/**
 * Arrow metadata (flatbuffers) checked before apache-arrow decodes it. apache-arrow trusts each
 * vector's claimed length and builds one object per claimed entry (reading past the buffer as
 * zeros): a 90-byte file whose schema claims 16M fields took minutes and gigabytes, and a batch
 * claiming a billion rows in a 2 KB body sized arrays by the claim. Here every vector must fit
 * in the bytes that hold it, and a batch (and each of its columns) may claim no more rows than
 * its body can hold (a bit a row at the least).
 */

/** Most fields (with their children) a schema may hold. */
const MAX_FIELDS = 10_000;

const rowsFor = (body: number): number => 8 * body + 64;

function bounded(where: string, what: string, count: number, size: number, bb: ByteBuffer): void {
  if (!(count >= 0) || count * size > bb.capacity()) {
    throw new TsnormError(`${where}: corrupt Arrow metadata: ${what} claims ${count} entries in ${bb.capacity()} bytes`, 'TSNORM_ARROW');
  }
}

function checkSchema(where: string, schema: Schema | null, bb: ByteBuffer): void {
  if (!schema) return;
  bounded(where, "the schema's field list", schema.fieldsLength(), 4, bb);
  bounded(where, "the schema's metadata list", schema.customMetadataLength(), 4, bb);
  bounded(where, "the schema's feature list", schema.featuresLength(), 8, bb);
  const seen = new Set<number>();
  const visit = (field: Field | null, depth: number): void => {
    if (!field) return;
    if (seen.has(field.bb_pos) || seen.size > MAX_FIELDS || depth > 64) {
      throw new TsnormError(
        `${where}: corrupt Arrow metadata: the schema's fields loop, nest deeper than 64 or number more than ${MAX_FIELDS}`,
        'TSNORM_ARROW',
      );
    }
    seen.add(field.bb_pos);
    bounded(where, `field '${field.name() ?? ''}''s child list`, field.childrenLength(), 4, bb);
    bounded(where, `field '${field.name() ?? ''}''s metadata list`, field.customMetadataLength(), 4, bb);
    for (let i = 0; i < field.childrenLength(); i++) visit(field.children(i), depth + 1);
  };
  for (let i = 0; i < schema.fieldsLength(); i++) visit(schema.fields(i), 0);
}

function checkBatch(where: string, batch: RecordBatch | null, bb: ByteBuffer, body: number): void {
  if (!batch) return;
  bounded(where, "the batch's field node list", batch.nodesLength(), 16, bb);
  bounded(where, "the batch's buffer list", batch.buffersLength(), 16, bb);
  bounded(where, "the batch's variadic count list", batch.variadicBufferCountsLength(), 8, bb);
  const rows = Number(batch.length());
  if (!(rows >= 0)) throw new TsnormError(`${where}: corrupt Arrow data: a batch of ${batch.length()} rows`, 'TSNORM_ARROW');
  // A compressed body can be far smaller than its rows (a constant column compresses a
  // thousandfold): its buffers are checked once decompressed (validate.ts) instead.
  if (batch.compression() !== null) return;
  if (rows > rowsFor(body)) throw new TsnormError(`${where}: corrupt Arrow data: a batch of ${batch.length()} rows in a body of ${body} bytes`, 'TSNORM_ARROW');
  for (let i = 0; i < batch.nodesLength(); i++) {
    const n = Number(batch.nodes(i)?.length() ?? 0);
    if (!(n >= 0 && n <= rowsFor(body)))
      throw new TsnormError(`${where}: corrupt Arrow data: a column of ${batch.nodes(i)?.length()} values in a body of ${body} bytes`, 'TSNORM_ARROW');
  }
}

/** A check whose own reading of a broken flatbuffer fails (a RangeError, say): a corrupt file too. */
function guarded<T>(where: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof TsnormError) throw err;
    throw new TsnormError(`${where}: corrupt Arrow metadata (${(err as Error).message})`, 'TSNORM_ARROW');
  }
}

/** A message's metadata (the flatbuffer after its framing), before apache-arrow decodes it. */
export function checkMessageMetadata(metadata: Uint8Array, where: string): void {
  guarded(where, () => checkMessage(metadata, where));
}

function checkMessage(metadata: Uint8Array, where: string): void {
  const bb = new ByteBuffer(metadata);
  const m = Message.getRootAsMessage(bb);
  bounded(where, "the message's metadata list", m.customMetadataLength(), 4, bb);
  const body = Number(m.bodyLength());
  if (!(body >= 0)) throw new TsnormError(`${where}: corrupt Arrow data: a message body of ${m.bodyLength()} bytes`, 'TSNORM_ARROW');
  switch (m.headerType()) {
    case MessageHeader.Schema:
      checkSchema(where, m.header(new Schema()) as Schema | null, bb);
      break;
    case MessageHeader.RecordBatch:
      checkBatch(where, m.header(new RecordBatch()) as RecordBatch | null, bb, body);
      break;
    case MessageHeader.DictionaryBatch:
      checkBatch(where, (m.header(new DictionaryBatch()) as DictionaryBatch | null)?.data() ?? null, bb, body);
      break;
    default:
      break;
  }
}

/**
 * A file's footer (the flatbuffer before its length and the closing magic). Returns where its
 * dictionary batches are: apache-arrow reads them when it opens the file, so they are checked
 * before that.
 */
export function checkFooterMetadata(footerBytes: Uint8Array, where: string): { offset: number; metaDataLength: number }[] {
  return guarded(where, () => checkFooter(footerBytes, where));
}

function checkFooter(footerBytes: Uint8Array, where: string): { offset: number; metaDataLength: number }[] {
  const bb = new ByteBuffer(footerBytes);
  const footer = Footer.getRootAsFooter(bb);
  bounded(where, "the footer's dictionary list", footer.dictionariesLength(), 24, bb);
  bounded(where, "the footer's record batch list", footer.recordBatchesLength(), 24, bb);
  bounded(where, "the footer's metadata list", footer.customMetadataLength(), 4, bb);
  checkSchema(where, footer.schema(), bb);
  return Array.from({ length: footer.dictionariesLength() }, (_, i) => {
    const block = footer.dictionaries(i);
    return { offset: Number(block?.offset() ?? -1), metaDataLength: block?.metaDataLength() ?? 0 };
  });
}
