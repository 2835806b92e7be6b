import * as A from 'apache-arrow';
import { Message } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { RecordBatch } from 'apache-arrow/fb/record-batch';
import { ByteBuffer } from 'flatbuffers';

/**
 * Many small record batches gathered into one. apache-arrow decodes a batch by building objects
 * for its metadata, then a Vector per column through its visitors: a cost per batch that, for
 * batches of one row, is all the cost (a writer flushing each row makes such files). A batch
 * whose columns are all flat (fixed-width values, booleans, strings or binary with 32-bit
 * offsets) and whose body is not compressed is read here from its flatbuffer, its buffers
 * checked against its rows, and its values copied beside the batches before it; apache-arrow
 * then makes one batch of them all. Anything else (a dictionary, a nested or large type, a
 * compressed body, a batch that does not check out) is left to apache-arrow, whose own checks
 * and messages then apply.
 */

/** A record batch and its place among the input's batches (of the first, for gathered ones). */
export interface NumberedBatch {
  readonly batch: A.RecordBatch;
  readonly index: number;
}

/**
 * Batches of fewer rows than this, in messages (framing, metadata and body) shorter than
 * SMALL_BATCH_BYTES, are gathered; others are decoded in place, without a copy. Files and streams
 * gather by the same rule, so that a table cut the same way comes out the same from either.
 */
const SMALL_BATCH_ROWS = 4096;
export const SMALL_BATCH_BYTES = 64 << 10;
/** Rows, or bytes of bodies, at which gathered batches are handed out. */
const GATHERED_ROWS = 65536;
const GATHERED_BYTES = 16 << 20;

type ColumnKind = { readonly kind: 'fixed'; readonly width: number } | { readonly kind: 'bool' } | { readonly kind: 'binary' };

/** How each column of the schema is gathered, or undefined if some column cannot be. */
export function flatColumns(schema: A.Schema): ColumnKind[] | undefined {
  const kinds: ColumnKind[] = [];
  for (const field of schema.fields) {
    const kind = columnKind(field.type as A.DataType);
    if (kind === undefined) return undefined;
    kinds.push(kind);
  }
  return kinds;
}

function columnKind(t: A.DataType): ColumnKind | undefined {
  if (A.DataType.isDictionary(t)) return undefined;
  if (A.DataType.isInt(t) || A.DataType.isTime(t) || A.DataType.isDecimal(t)) return { kind: 'fixed', width: t.bitWidth / 8 };
  if (A.DataType.isFloat(t)) return { kind: 'fixed', width: t.precision === A.Precision.HALF ? 2 : t.precision === A.Precision.SINGLE ? 4 : 8 };
  if (A.DataType.isDate(t)) return { kind: 'fixed', width: t.unit === A.DateUnit.DAY ? 4 : 8 };
  if (A.DataType.isTimestamp(t) || A.DataType.isDuration(t)) return { kind: 'fixed', width: 8 };
  if (A.DataType.isFixedSizeBinary(t)) return { kind: 'fixed', width: t.byteWidth };
  if (A.DataType.isBool(t)) return { kind: 'bool' };
  if (A.DataType.isUtf8(t) || A.DataType.isBinary(t)) return { kind: 'binary' };
  return undefined;
}

/** Numbers kept per column of a small batch, in SmallBatch.at. */
const SLOTS = 4;
/** Its null count; where its validity bits start (-1 without nulls); where its values start; binary: where its offsets start. */
const NULLS = 0;
const VALIDITY = 1;
const VALUES = 2;
const OFFSETS = 3;

/**
 * A small batch read from its metadata and body, its buffers checked: its body, and for each
 * column, where its buffers lie in it (numbers in one array: batches of a row each come by the
 * hundred thousand, and an object per buffer would cost more than the copying).
 */
export interface SmallBatch {
  readonly rows: number;
  readonly body: Uint8Array;
  readonly view: DataView;
  readonly at: Float64Array;
}

/**
 * A record batch message (the flatbuffer after its framing, and its body) read for gathering, or
 * undefined when it is not one this can gather: not a record batch, compressed, of
 * SMALL_BATCH_ROWS rows or more, SMALL_BATCH_BYTES long or more, or anything in it out of place.
 */
export function readSmallBatch(kinds: readonly ColumnKind[], metadata: Uint8Array, body: Uint8Array, messageLength: number): SmallBatch | undefined {
  if (messageLength >= SMALL_BATCH_BYTES) return undefined;
  try {
    return readChecked(kinds, metadata, body);
  } catch {
    // A flatbuffer read past its bytes: apache-arrow's path reports it.
    return undefined;
  }
}

function readChecked(kinds: readonly ColumnKind[], metadata: Uint8Array, body: Uint8Array): SmallBatch | undefined {
  const bb = new ByteBuffer(metadata);
  const message = Message.getRootAsMessage(bb);
  if (message.headerType() !== MessageHeader.RecordBatch) return undefined;
  if (Number(message.bodyLength()) !== body.length || body.length >= GATHERED_BYTES) return undefined;
  const batch = message.header(new RecordBatch()) as RecordBatch | null;
  if (!batch || batch.compression() !== null || batch.variadicBufferCountsLength() !== 0) return undefined;
  const rows = Number(batch.length());
  if (!(rows >= 0 && rows < SMALL_BATCH_ROWS)) return undefined;
  // The node and buffer vectors (16-byte structs of two int64s), read without an object per entry.
  const vector = (slot: number, count: number): number => {
    const field = bb.__offset(batch.bb_pos, slot);
    if (field === 0 || bb.__vector_len(batch.bb_pos + field) !== count) return -1;
    const start = bb.__vector(batch.bb_pos + field);
    return start >= 0 && start + count * 16 <= metadata.length ? start : -1;
  };
  const int64 = (pos: number): number => bb.readUint32(pos) + bb.readInt32(pos + 4) * 2 ** 32;
  const nodes = vector(6, kinds.length);
  const buffers = vector(
    8,
    kinds.reduce((n, k) => n + (k.kind === 'binary' ? 3 : 2), 0),
  );
  if (nodes < 0 || buffers < 0) return undefined;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const at = new Float64Array(kinds.length * SLOTS);
  let b = buffers;
  /** The next buffer's start in the body, if it lies within the body and holds `need` bytes. */
  const buffer = (need: number): number => {
    const offset = int64(b);
    const length = int64(b + 8);
    b += 16;
    // Buffers start at multiples of 8 (the format says so, pyarrow refuses others, and a typed
    // array cannot view an 8-byte value elsewhere): one that does not is left to apache-arrow's path.
    return offset >= 0 && offset % 8 === 0 && length >= need && offset + length <= body.length ? offset : -1;
  };
  for (let c = 0; c < kinds.length; c++) {
    const kind = kinds[c]!;
    if (int64(nodes + c * 16) !== rows) return undefined;
    const nulls = int64(nodes + c * 16 + 8);
    if (!(nulls >= 0 && nulls <= rows)) return undefined;
    const validity = buffer(nulls > 0 ? Math.ceil(rows / 8) : 0);
    if (validity < 0) return undefined;
    at[c * SLOTS + NULLS] = nulls;
    at[c * SLOTS + VALIDITY] = nulls > 0 ? validity : -1;
    if (kind.kind !== 'binary') {
      const values = buffer(kind.kind === 'bool' ? Math.ceil(rows / 8) : rows * kind.width);
      if (values < 0) return undefined;
      at[c * SLOTS + VALUES] = values;
      continue;
    }
    const offsets = buffer(rows === 0 ? 0 : (rows + 1) * 4);
    const valuesLength = int64(b + 8);
    const values = buffer(0);
    if (offsets < 0 || values < 0) return undefined;
    if (rows > 0) {
      // Each offset within the values, none before the one before it.
      let before = 0;
      for (let i = 0; i <= rows; i++) {
        const o = view.getInt32(offsets + i * 4, true);
        if (!(o >= before && o <= valuesLength)) return undefined;
        before = o;
      }
    }
    at[c * SLOTS + VALUES] = values;
    at[c * SLOTS + OFFSETS] = rows === 0 ? -1 : offsets;
  }
  return { rows, body, view, at };
}

/**
 * The framing of the message at `at` (of `available` bytes from there): the bytes before its
 * metadata (8 after a continuation marker, 4 in the old format), the metadata's length (0: the
 * end of a stream) and, when the metadata is there to read and `withBody`, the body's length.
 * Undefined while fewer than 8 bytes are there.
 */
export function messageFrame(
  bytes: Uint8Array,
  at: number,
  available: number,
  withBody = true,
): { framing: number; length: number; body: number | undefined } | undefined {
  if (available < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const framing = view.getInt32(at, true) === -1 ? 8 : 4;
  const length = view.getInt32(at + framing - 4, true);
  const whole = withBody && length > 0 && framing + length <= available;
  return { framing, length, body: whole ? bodyLength(bytes.subarray(at + framing, at + framing + length)) : undefined };
}

/** A message's body length from its metadata, or undefined if the metadata cannot be read. */
function bodyLength(metadata: Uint8Array): number | undefined {
  try {
    const body = Number(Message.getRootAsMessage(new ByteBuffer(metadata)).bodyLength());
    return body >= 0 && Number.isSafeInteger(body) ? body : undefined;
  } catch {
    return undefined;
  }
}

/** Small batches waiting to be handed out as one. */
export class SmallBatches {
  private readonly pending: SmallBatch[] = [];
  private pendingRows = 0;
  private pendingBytes = 0;

  constructor(
    private readonly schema: A.Schema,
    private readonly kinds: readonly ColumnKind[],
  ) {}

  /** Enough has been gathered to hand it out. */
  get full(): boolean {
    return this.pendingRows >= GATHERED_ROWS || this.pendingBytes >= GATHERED_BYTES;
  }

  get empty(): boolean {
    return this.pending.length === 0;
  }

  add(batch: SmallBatch): void {
    this.pending.push(batch);
    this.pendingRows += batch.rows;
    this.pendingBytes += batch.body.length;
  }

  /** The batches added since the last take, as one record batch. */
  take(): A.RecordBatch {
    const length = this.pendingRows;
    const children = this.kinds.map((kind, c) => this.column(kind, c, length));
    this.pending.length = 0;
    this.pendingRows = 0;
    this.pendingBytes = 0;
    const struct = A.makeData({ type: new A.Struct(this.schema.fields), length, nullCount: 0, children });
    return new A.RecordBatch(this.schema, struct);
  }

  private column(kind: ColumnKind, c: number, length: number): A.Data {
    const type = this.schema.fields[c]!.type as A.DataType;
    const slot = c * SLOTS;
    let nullCount = 0;
    for (const p of this.pending) nullCount += p.at[slot + NULLS]!;
    const valid = nullCount > 0 ? { nullCount, nullBitmap: gatherBits(this.pending, slot + VALIDITY, length) } : { nullCount: 0 };
    if (kind.kind === 'fixed') {
      const values = new Uint8Array(length * kind.width);
      let to = 0;
      for (const p of this.pending) {
        const from = p.at[slot + VALUES]!;
        const n = p.rows * kind.width;
        // A row or a few: a loop costs less than a view to copy from.
        if (n <= 64) for (let k = 0; k < n; k++) values[to + k] = p.body[from + k]!;
        else values.set(p.body.subarray(from, from + n), to);
        to += n;
      }
      return A.makeData({ type, length, data: values, ...valid } as never);
    }
    if (kind.kind === 'bool') return A.makeData({ type, length, data: gatherBits(this.pending, slot + VALUES, length), ...valid } as never);
    const offsets = new Int32Array(length + 1);
    let total = 0;
    for (const p of this.pending) {
      if (p.rows === 0) continue;
      const at = p.at[slot + OFFSETS]!;
      total += p.view.getInt32(at + p.rows * 4, true) - p.view.getInt32(at, true);
    }
    const values = new Uint8Array(total);
    let row = 0;
    let to = 0;
    for (const p of this.pending) {
      if (p.rows === 0) continue;
      const { view } = p;
      const at = p.at[slot + OFFSETS]!;
      const first = view.getInt32(at, true);
      const last = view.getInt32(at + p.rows * 4, true);
      for (let i = 1; i <= p.rows; i++) offsets[row + i] = view.getInt32(at + i * 4, true) - first + to;
      const from = p.at[slot + VALUES]! + first;
      const n = last - first;
      if (n <= 64) for (let k = 0; k < n; k++) values[to + k] = p.body[from + k]!;
      else values.set(p.body.subarray(from, from + n), to);
      to += n;
      row += p.rows;
    }
    return A.makeData({ type, length, valueOffsets: offsets, data: values, ...valid } as never);
  }
}

/**
 * The bits that start at each batch's position `slot` of `at` (-1: none, every bit set), as one
 * bitmap of `length` bits.
 */
function gatherBits(batches: readonly SmallBatch[], slot: number, length: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(length / 8));
  let row = 0;
  for (const { rows, body, at } of batches) {
    const from = at[slot]!;
    for (let i = 0; i < rows; i++, row++) {
      if (from < 0 || (body[from + (i >> 3)]! >> (i & 7)) & 1) out[row >> 3]! |= 1 << (row & 7);
    }
  }
  return out;
}
