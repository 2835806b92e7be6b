import * as A from 'apache-arrow';
import { TsnormError } from '../../errors.js';
import { checkMessageMetadata } from './metadata.js';

/**
 * A record batch's columns against what its metadata claims: each as long as the batch, each
 * buffer large enough for its rows. apache-arrow does not check (it makes views on whatever
 * the body holds), so a batch whose buffers are short would be read past them, or with its
 * missing values taken for nulls; pyarrow refuses such a batch, and so does this.
 */
export function checkBatch(batch: A.RecordBatch, name: string, index: number): void {
  const at = `${name}: record batch ${index}`;
  batch.schema.fields.forEach((field, i) => {
    const column = batch.getChildAt(i);
    const length = column?.length ?? 0;
    if (!column || length !== batch.numRows) {
      throw new TsnormError(`${at}: column '${field.name}' has ${length} values, the batch ${batch.numRows} rows (a corrupt file)`, 'TSNORM_ARROW');
    }
    for (const data of column.data) checkData(data as A.Data, `${at}: column '${field.name}'`);
  });
}

function checkData(data: A.Data, where: string): void {
  const end = data.offset + data.length;
  const short = (what: string, need: number, has: number): never => {
    throw new TsnormError(`${where}: its ${what} holds ${has} entries, ${data.length} rows need ${need} (a corrupt file)`, 'TSNORM_ARROW');
  };
  const t = data.type as A.DataType;
  if (data.nullCount !== 0 && data.nullBitmap && data.nullBitmap.length > 0 && data.nullBitmap.length * 8 < end)
    short('validity bitmap', Math.ceil(end / 8), data.nullBitmap.length);
  if (A.DataType.isNull(t)) return;
  if (A.DataType.isBool(t)) {
    if (data.values.length * 8 < end) short('value buffer', Math.ceil(end / 8), data.values.length);
    return;
  }
  if (A.DataType.isDictionary(t)) {
    if (data.values.length < end) short('index buffer', end, data.values.length);
    return;
  }
  if (A.DataType.isUtf8View(t) || A.DataType.isBinaryView(t)) {
    // 16-byte views: a length, then inline bytes or a (buffer, offset) into the variadic buffers.
    const views = data.values as Uint8Array;
    if (!views || views.length < end * 16) short('view buffer', end * 16, (views?.length ?? 0) / 16);
    const dv = new DataView(views.buffer, views.byteOffset, views.byteLength);
    const buffers = data.variadicBuffers ?? [];
    for (let i = data.offset; i < end; i++) {
      const size = dv.getInt32(i * 16, true);
      if (size <= 12) continue;
      const buffer = buffers[dv.getInt32(i * 16 + 8, true)];
      const at = dv.getInt32(i * 16 + 12, true);
      if (!buffer || at < 0 || at + size > buffer.length)
        throw new TsnormError(`${where}: row ${i - data.offset}'s value lies outside its data buffers (a corrupt file)`, 'TSNORM_ARROW');
    }
    return;
  }
  if (
    A.DataType.isUtf8(t) ||
    A.DataType.isBinary(t) ||
    A.DataType.isLargeUtf8(t) ||
    A.DataType.isLargeBinary(t) ||
    A.DataType.isList(t) ||
    t.typeId === A.Type.LargeList ||
    A.DataType.isMap(t)
  ) {
    const offsets = data.valueOffsets as ArrayLike<number | bigint>;
    if (data.length === 0) return;
    if (!offsets || offsets.length < end + 1) short('offset buffer', end + 1, offsets?.length ?? 0);
    const inner = A.DataType.isList(t) || t.typeId === A.Type.LargeList || A.DataType.isMap(t) ? (data.children[0]?.length ?? 0) : (data.values?.length ?? 0);
    // Every offset, not only the ends: one out of place (or past 2^53 in a large type) would
    // fail deep inside apache-arrow when that cell is read.
    let before = Number(offsets[data.offset]!);
    if (!(before >= 0 && before <= inner))
      throw new TsnormError(`${where}: its offsets start at ${offsets[data.offset]}, outside its ${inner} values (a corrupt file)`, 'TSNORM_ARROW');
    for (let i = data.offset + 1; i <= end; i++) {
      const o = Number(offsets[i]!);
      if (!(o >= before && o <= inner))
        throw new TsnormError(`${where}: its offset ${i - data.offset} is ${offsets[i]}, outside ${before}..${inner} (a corrupt file)`, 'TSNORM_ARROW');
      before = o;
    }
    for (const child of data.children) checkData(child as A.Data, where);
    return;
  }
  if (A.DataType.isFixedSizeList(t)) {
    const child = data.children[0];
    if (!child || child.length < end * t.listSize) short('list values', end * t.listSize, child?.length ?? 0);
    checkData(child as A.Data, where);
    return;
  }
  if (A.DataType.isStruct(t)) {
    for (const child of data.children) {
      if (child.length < end) short('child column', end, child.length);
      checkData(child as A.Data, where);
    }
    return;
  }
  // Fixed-width values: ints, floats, timestamps, dates, decimals.
  const values = data.values as ArrayLike<unknown> | undefined;
  if (values && ArrayBuffer.isView(values) && values.length < end * data.stride) short('value buffer', end * data.stride, values.length);
}

/** The record batch metadata apache-arrow decodes (ipc/metadata/message.js; not exported as a type). */
interface BatchHeader {
  readonly length: number | bigint;
  readonly nodes: readonly { readonly length: number | bigint }[];
}

/** Field nodes a field takes in a batch's metadata: its own, then its children's, depth first. */
function nodeCount(field: A.Field): number {
  return 1 + (field.type.children ?? []).reduce((n: number, child: A.Field) => n + nodeCount(child), 0);
}

/**
 * A record batch's metadata against its schema: each column as long as the batch. apache-arrow
 * pads a shorter column with nulls (and a longer one is cut), so the decoded batch cannot tell;
 * pyarrow refuses such a batch ("Array length did not match record batch length").
 */
export function checkBatchMetadata(decoded: unknown, schema: A.Schema, name: string, index: number): void {
  const header = decoded as BatchHeader;
  const rows = Number(header.length);
  let node = 0;
  for (const field of schema.fields) {
    const length = header.nodes[node]?.length;
    if (length === undefined)
      throw new TsnormError(
        `${name}: record batch ${index}: its metadata describes fewer columns than the schema's ${schema.fields.length} (a corrupt file)`,
        'TSNORM_ARROW',
      );
    if (Number(length) !== rows)
      throw new TsnormError(
        `${name}: record batch ${index}: column '${field.name}' has ${length} values, the batch ${rows} rows (a corrupt file)`,
        'TSNORM_ARROW',
      );
    node += nodeCount(field);
  }
}

/** The message (its metadata) that starts at `at` in buf: continuation marker, length, flatbuffer. */
export function messageAt(buf: Uint8Array, at: number, where: string): A.Message {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const marker = at + 4 <= buf.length ? view.getInt32(at, true) : 0;
  const start = marker === -1 ? at + 8 : at + 4;
  const length = start <= buf.length ? view.getInt32(start - 4, true) : -1;
  if (length <= 0 || start + length > buf.length) throw new TsnormError(`${where}: no valid message there`, 'TSNORM_ARROW');
  const metadata = buf.subarray(start, start + length);
  checkMessageMetadata(metadata, where);
  try {
    return A.Message.decode(metadata);
  } catch (err) {
    throw new TsnormError(`${where}: ${(err as Error).message.split('\n')[0]}`, 'TSNORM_ARROW');
  }
}
