import zlib from 'node:zlib';
import * as A from 'apache-arrow';
import { TsnormError } from '../../errors.js';
import { type ByteSource, readFully } from '../../io/byte-source.js';
import { zstdDecompress } from '../arrow/codecs.js';
import type { NumberedBatch } from '../arrow/small-batches.js';
import type { FastChunk, FastColumn, FastPlan, FastType } from './footer.js';
import { snappyDecompress } from './snappy.js';
import { ThriftEnd, ThriftReader, num, sub } from './thrift.js';

/**
 * The fast decoder: record batches of flat columns straight from the pages (see footer.ts for
 * what it reads), a page at a time per column, so memory holds a page of each column and a batch,
 * not a row group. Values are decoded into the arrays the batch's columns are made of.
 */
export async function* fastBatches(src: ByteSource, plan: FastPlan, batchRows: number): AsyncIterable<NumberedBatch> {
  let index = 0;
  for (const [g, group] of plan.rowGroups.entries()) {
    const cursors = plan.columns.map((c, i) => new ColumnCursor(src, c, group.chunks[i]!, `row group ${g}, column '${c.name}'`));
    for (let done = 0; done < group.rows; ) {
      const rows = Math.min(batchRows, group.rows - done);
      const children: A.Data[] = [];
      for (const cursor of cursors) children.push(await cursor.take(rows));
      const data = A.makeData({ type: new A.Struct(plan.schema.fields), length: rows, nullCount: 0, children });
      yield { batch: new A.RecordBatch(plan.schema, data), index: index++ };
      done += rows;
    }
    for (const cursor of cursors) cursor.checkEnd();
  }
}

/** Bytes read ahead per column: pages are read from these windows. */
const WINDOW_BYTES = 1 << 20;

type Numbers = Float64Array | Float32Array | BigInt64Array | Int32Array;

/** A page's values, decoded: numbers, or strings as offsets into bytes; or indices into the dictionary. */
interface Decoded {
  /** Definition levels (1 present, 0 null), or undefined when every value is present. */
  defs: Uint8Array | undefined;
  /** Rows in the page. */
  count: number;
  /** Present values (PLAIN), or undefined when `indices` says which dictionary value. */
  numbers?: Numbers | undefined;
  strings?: { offsets: Int32Array; bytes: Uint8Array } | undefined;
  indices?: Uint32Array | undefined;
  /** Rows used, and present values used. */
  row: number;
  value: number;
}

class ColumnCursor {
  private pos: number;
  private page: Decoded | undefined;
  private dictionary: { numbers?: Numbers; strings?: { offsets: Int32Array; bytes: Uint8Array } } | undefined;
  private rowsRead = 0;
  private window: Uint8Array | undefined;
  private windowStart = 0;

  constructor(
    private readonly src: ByteSource,
    private readonly column: FastColumn,
    private readonly chunk: FastChunk,
    private readonly where: string,
  ) {
    this.pos = chunk.start;
  }

  async take(rows: number): Promise<A.Data> {
    const type = this.column.type;
    const numbers = type === 'utf8' ? undefined : newNumbers(type, rows);
    let text = new Uint8Array(type === 'utf8' ? rows * 8 : 0);
    const offsets = type === 'utf8' ? new Int32Array(rows + 1) : undefined;
    let bytes = 0;
    let bitmap: Uint8Array | undefined;
    let nulls = 0;
    for (let i = 0; i < rows; ) {
      if (!this.page || this.page.row >= this.page.count) {
        this.page = await this.nextDataPage();
        continue;
      }
      const p = this.page;
      const n = Math.min(rows - i, p.count - p.row);
      if (numbers && p.defs === undefined && p.numbers) {
        // Every value present, as written: one copy.
        (numbers as Float64Array).set((p.numbers as Float64Array).subarray(p.value, p.value + n), i);
        p.value += n;
        p.row += n;
        i += n;
        continue;
      }
      if (numbers && p.defs === undefined && p.indices) {
        // Every value present, from the dictionary.
        const from = this.dictionary!.numbers! as Float64Array;
        const out = numbers as Float64Array;
        const idx = p.indices;
        for (let k = 0; k < n; k++) {
          const d = idx[p.value + k]!;
          if (d >= from.length) this.dictionaryValue(d);
          out[i + k] = from[d]!;
        }
        p.value += n;
        p.row += n;
        i += n;
        continue;
      }
      for (let k = 0; k < n; k++, i++) {
        const present = p.defs === undefined || p.defs[p.row + k] === 1;
        if (!present) {
          bitmap ??= new Uint8Array((rows + 7) >> 3).fill(0xff);
          bitmap[i >> 3]! &= ~(1 << (i & 7));
          nulls++;
          if (offsets) offsets[i + 1] = bytes;
          continue;
        }
        const v = p.value++;
        const source = p.indices ? this.dictionaryValue(p.indices[v]!) : v;
        if (numbers) {
          const from = p.indices ? this.dictionary!.numbers! : p.numbers!;
          (numbers as Float64Array)[i] = (from as Float64Array)[source]!;
        } else {
          const s = p.indices ? this.dictionary!.strings! : p.strings!;
          const from = s.offsets[source]!;
          const to = s.offsets[source + 1]!;
          if (bytes + (to - from) > text.length) {
            const grown = new Uint8Array(Math.max(text.length * 2, bytes + (to - from)));
            grown.set(text.subarray(0, bytes));
            text = grown;
          }
          // Byte by byte: ids and labels are short, and a view per value would cost more.
          const src = s.bytes;
          for (let q = from; q < to; q++) text[bytes++] = src[q]!;
          offsets![i + 1] = bytes;
        }
      }
      p.row += n;
    }
    this.rowsRead += rows;
    const nullBitmap = nulls > 0 ? bitmap : undefined;
    if (numbers) return A.makeData({ type: arrowType(type as Exclude<FastType, 'utf8'>), length: rows, nullCount: nulls, nullBitmap, data: numbers } as never);
    if (this.column.large)
      return A.makeData({
        type: new A.LargeUtf8(),
        length: rows,
        nullCount: nulls,
        nullBitmap,
        valueOffsets: BigInt64Array.from(offsets!, BigInt),
        data: text.subarray(0, bytes),
      });
    return A.makeData({ type: new A.Utf8(), length: rows, nullCount: nulls, nullBitmap, valueOffsets: offsets!, data: text.subarray(0, bytes) });
  }

  /** The row group read: a flat column holds a value (or a null) a row, and its pages no more. */
  checkEnd(): void {
    const left = this.page ? this.page.count - this.page.row : 0;
    if (this.rowsRead !== this.chunk.values || left > 0)
      throw new TsnormError(
        `corrupt Parquet file: ${this.where}: ${this.chunk.values} values in the footer, ${this.rowsRead + left} in its pages for ${this.rowsRead} rows`,
        'TSNORM_PARQUET',
      );
  }

  private dictionaryValue(index: number): number {
    const d = this.dictionary;
    const size = d?.numbers ? d.numbers.length : d?.strings ? d.strings.offsets.length - 1 : 0;
    if (index >= size) throw new TsnormError(`corrupt Parquet file: ${this.where}: dictionary index ${index} of ${size}`, 'TSNORM_PARQUET');
    return index;
  }

  /** Reads pages until a data page: a dictionary page on the way is kept for the ones after it. */
  private async nextDataPage(): Promise<Decoded> {
    for (;;) {
      if (this.pos >= this.chunk.end) throw new TsnormError(`corrupt Parquet file: ${this.where}: its pages end before its rows do`, 'TSNORM_PARQUET');
      const { header, bodyStart } = await this.pageHeader();
      const type = num(header, 1);
      const compressedSize = num(header, 3) ?? -1;
      const size = num(header, 2) ?? -1;
      if (compressedSize < 0 || size < 0 || bodyStart + compressedSize > this.chunk.end)
        throw new TsnormError(`corrupt Parquet file: ${this.where}: a page runs past its column chunk`, 'TSNORM_PARQUET');
      const body = await this.bytesAt(bodyStart, compressedSize);
      this.pos = bodyStart + compressedSize;
      if (type === 2) {
        const h = sub(header, 7);
        const n = h ? (num(h, 1) ?? 0) : 0;
        const raw = this.decompress(body, size);
        this.dictionary = this.plain(raw, 0, raw.length, n);
        continue;
      }
      if (type === 0) return this.dataPageV1(sub(header, 5), body, size);
      if (type === 3) return this.dataPageV2(sub(header, 8), body, size);
      // An index page, or a kind this reader does not know: skipped, as readers do.
    }
  }

  /**
   * Bytes [at, at + length) of the chunk, from a window of at least WINDOW_BYTES read ahead: a
   * page's header and body, and the pages after it, come from one read.
   */
  private async bytesAt(at: number, length: number): Promise<Uint8Array> {
    const w = this.window;
    if (w && at >= this.windowStart && at + length <= this.windowStart + w.length) return w.subarray(at - this.windowStart, at - this.windowStart + length);
    const size = Math.min(Math.max(length, WINDOW_BYTES), this.chunk.end - at);
    const bytes = new Uint8Array(size);
    const got = await readFully(this.src, bytes, 0, size, at);
    if (got < length) throw new TsnormError(`truncated Parquet file: ${this.where}: a page cannot be read`, 'TSNORM_PARQUET');
    this.window = bytes.subarray(0, got);
    this.windowStart = at;
    return this.window.subarray(0, length);
  }

  private async pageHeader(): Promise<{ header: Map<number, unknown> & ReturnType<ThriftReader['struct']>; bodyStart: number }> {
    for (let window = 1024; ; window *= 8) {
      const length = Math.min(window, this.chunk.end - this.pos);
      const bytes = await this.bytesAt(this.pos, length);
      const got = bytes.length;
      const reader = new ThriftReader(bytes.subarray(0, got), 0, `${this.where}: page header`);
      try {
        const header = reader.struct();
        return { header, bodyStart: this.pos + reader.pos };
      } catch (err) {
        if (!(err instanceof ThriftEnd) || length >= this.chunk.end - this.pos) {
          throw err instanceof ThriftEnd
            ? new TsnormError(`corrupt Parquet file: ${this.where}: a page header runs past its column chunk`, 'TSNORM_PARQUET')
            : err;
        }
      }
    }
  }

  private decompress(body: Uint8Array, size: number): Uint8Array {
    let out: Uint8Array;
    try {
      switch (this.chunk.codec) {
        case 0:
          out = body;
          break;
        case 1:
          out = snappyDecompress(body, size, this.where);
          break;
        case 2:
          out = zlib.gunzipSync(body);
          break;
        case 4:
          out = zlib.brotliDecompressSync(body);
          break;
        default:
          out = zstdDecompress(body);
      }
    } catch (err) {
      if (err instanceof TsnormError) throw err;
      throw new TsnormError(`corrupt Parquet file: ${this.where}: a page does not decompress (${(err as Error).message.split('\n')[0]})`, 'TSNORM_PARQUET');
    }
    if (out.length !== size)
      throw new TsnormError(`corrupt Parquet file: ${this.where}: a page decompresses to ${out.length} bytes, not ${size}`, 'TSNORM_PARQUET');
    return out;
  }

  private dataPageV1(h: ReturnType<typeof sub>, body: Uint8Array, size: number): Decoded {
    if (!h) throw new TsnormError(`corrupt Parquet file: ${this.where}: a data page without its header`, 'TSNORM_PARQUET');
    const count = num(h, 1) ?? 0;
    const raw = this.decompress(body, size);
    let at = 0;
    let defs: Uint8Array | undefined;
    if (this.column.optional) {
      if (raw.length < 4) throw this.short();
      const length = raw[0]! | (raw[1]! << 8) | (raw[2]! << 16) | (raw[3]! << 24);
      if (length < 0 || 4 + length > raw.length) throw this.short();
      defs = levels(raw, 4, 4 + length, count, this.where);
      at = 4 + length;
    }
    return this.values(raw, at, raw.length, num(h, 2) ?? 0, count, defs);
  }

  private dataPageV2(h: ReturnType<typeof sub>, body: Uint8Array, size: number): Decoded {
    if (!h) throw new TsnormError(`corrupt Parquet file: ${this.where}: a data page without its header`, 'TSNORM_PARQUET');
    const count = num(h, 1) ?? 0;
    const defLength = num(h, 5) ?? 0;
    const repLength = num(h, 6) ?? 0;
    if (repLength !== 0 || defLength < 0 || defLength > body.length) throw this.short();
    const defs = this.column.optional && defLength > 0 ? levels(body, 0, defLength, count, this.where) : undefined;
    const compressed = h.get(7) !== false;
    const values = compressed ? this.decompress(body.subarray(defLength), size - defLength) : body.subarray(defLength);
    return this.values(values, 0, values.length, num(h, 4) ?? 0, count, defs);
  }

  private values(raw: Uint8Array, start: number, end: number, encoding: number, count: number, defs: Uint8Array | undefined): Decoded {
    let present = count;
    if (defs) {
      present = 0;
      for (let i = 0; i < count; i++) present += defs[i]!;
      if (present === count) defs = undefined;
    }
    if (encoding === 0) return { defs, count, ...this.plain(raw, start, end, present), row: 0, value: 0 };
    if (encoding === 2 || encoding === 8) {
      if (!this.dictionary) throw new TsnormError(`corrupt Parquet file: ${this.where}: dictionary indices without a dictionary page`, 'TSNORM_PARQUET');
      if (start >= end && present > 0) throw this.short();
      const width = raw[start] ?? 0;
      const indices = new Uint32Array(present);
      if (present > 0) hybrid(raw, start + 1, end, width, present, indices, this.where);
      return { defs, count, indices, row: 0, value: 0 };
    }
    throw new TsnormError(`${this.where}: Parquet encoding ${encoding} is not read by the fast decoder`, 'TSNORM_PARQUET');
  }

  /** PLAIN values: fixed-width numbers, or strings each after its 4-byte length. */
  private plain(raw: Uint8Array, start: number, end: number, n: number): Pick<Decoded, 'numbers' | 'strings'> {
    const type = this.column.type;
    if (type === 'utf8') {
      const offsets = new Int32Array(n + 1);
      const parts: Uint8Array[] = [];
      let at = start;
      let total = 0;
      for (let i = 0; i < n; i++) {
        if (at + 4 > end) throw this.short();
        const length = (raw[at]! | (raw[at + 1]! << 8) | (raw[at + 2]! << 16) | (raw[at + 3]! << 24)) >>> 0;
        if (at + 4 + length > end) throw this.short();
        parts.push(raw.subarray(at + 4, at + 4 + length));
        at += 4 + length;
        total += length;
        offsets[i + 1] = total;
      }
      const bytes = new Uint8Array(total);
      for (let i = 0; i < n; i++) bytes.set(parts[i]!, offsets[i]!);
      return { strings: { offsets, bytes } };
    }
    const width = type === 'float64' || type === 'int64' ? 8 : 4;
    if (start + n * width > end) throw this.short();
    // A copy of its own (a codec's Buffer may be a view into a shared pool, and unaligned).
    const copy = new Uint8Array(n * width);
    copy.set(raw.subarray(start, start + n * width));
    return { numbers: numbersOf(type, copy.buffer) };
  }

  private short(): TsnormError {
    return new TsnormError(`corrupt Parquet file: ${this.where}: a page is shorter than its values`, 'TSNORM_PARQUET');
  }
}

function newNumbers(type: Exclude<FastColumn['type'], 'utf8'>, n: number): Numbers {
  return type === 'float64' ? new Float64Array(n) : type === 'float32' ? new Float32Array(n) : type === 'int64' ? new BigInt64Array(n) : new Int32Array(n);
}

function numbersOf(type: Exclude<FastColumn['type'], 'utf8'>, buffer: ArrayBufferLike): Numbers {
  return type === 'float64'
    ? new Float64Array(buffer)
    : type === 'float32'
      ? new Float32Array(buffer)
      : type === 'int64'
        ? new BigInt64Array(buffer)
        : new Int32Array(buffer);
}

function arrowType(type: Exclude<FastColumn['type'], 'utf8'>): A.DataType {
  return type === 'float64' ? new A.Float64() : type === 'float32' ? new A.Float32() : type === 'int64' ? new A.Int64() : new A.Int32();
}

/** Definition levels of a column whose greatest level is 1: the RLE/bit-packed hybrid, width 1. */
function levels(raw: Uint8Array, start: number, end: number, count: number, where: string): Uint8Array {
  const out = new Uint8Array(count);
  hybrid(raw, start, end, 1, count, out, where);
  return out;
}

/** The RLE / bit-packed hybrid encoding: runs of one value, and groups of 8 values of `width` bits. */
function hybrid(raw: Uint8Array, start: number, end: number, width: number, count: number, out: Uint8Array | Uint32Array, where: string): void {
  const corrupt = () => new TsnormError(`corrupt Parquet file: ${where}: levels or dictionary indices run past their page`, 'TSNORM_PARQUET');
  if (width > 32) throw corrupt();
  let at = start;
  let n = 0;
  const bytesPerValue = (width + 7) >> 3;
  while (n < count) {
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= end || shift > 28) throw corrupt();
      const b = raw[at++]!;
      header += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
    }
    if ((header & 1) === 0) {
      const run = Math.floor(header / 2);
      if (at + bytesPerValue > end) throw corrupt();
      let value = 0;
      for (let i = 0; i < bytesPerValue; i++) value += raw[at + i]! * 2 ** (8 * i);
      at += bytesPerValue;
      const stop = Math.min(count, n + run);
      out.fill(value, n, stop);
      n = stop;
    } else {
      const values = Math.floor(header / 2) * 8;
      const bytes = Math.floor(header / 2) * width;
      if (at + bytes > end) throw corrupt();
      if (width <= 24) {
        // Little-endian bits through a 32-bit accumulator: width + 7 bits fit.
        const mask = (1 << width) - 1;
        let p = at;
        let acc = 0;
        let bits = 0;
        for (let i = 0; i < values && n < count; i++, n++) {
          while (bits < width) {
            acc |= raw[p++]! << bits;
            bits += 8;
          }
          out[n] = acc & mask;
          acc >>>= width;
          bits -= width;
        }
        at += bytes;
        continue;
      }
      let bit = at * 8;
      const mask = width === 32 ? 0xffffffff : (1 << width) - 1;
      for (let i = 0; i < values && n < count; i++, n++) {
        let v = 0;
        let got = 0;
        while (got < width) {
          const byte = raw[bit >> 3]!;
          const offset = bit & 7;
          const take = Math.min(8 - offset, width - got);
          v += ((byte >> offset) & ((1 << take) - 1)) * 2 ** got;
          got += take;
          bit += take;
        }
        out[n] = v & mask;
      }
      at += bytes;
    }
  }
}
