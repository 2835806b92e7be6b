import * as A from 'apache-arrow';
import { TsnormError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { checkMessageMetadata } from './metadata.js';
import { type NumberedBatch, SmallBatches, flatColumns, messageFrame, readSmallBatch } from './small-batches.js';
import { checkBatchMetadata } from './validate.js';

/**
 * The Arrow IPC stream format read message by message, each record batch handed out as soon as
 * its body has arrived. (apache-arrow's own stream reader reads the next message's header
 * before it returns a batch, so behind a pipe every batch would wait for the next one.) Each
 * batch is decoded by apache-arrow from its own small stream: the schema, the dictionary
 * batches that apply to it, the batch and an end marker.
 */
export class ArrowMessages {
  private buf = new Uint8Array(1 << 16);
  private start = 0;
  private end = 0;
  /** Bytes consumed before buf[start]: positions for messages. */
  private consumed = 0;
  private ended = false;
  private schemaBytes: Uint8Array | undefined;
  schema: A.Schema | undefined;
  /** Dictionary batches in force, by dictionary id: the last replacement and the deltas after it. */
  private readonly dictionaries = new Map<number, Uint8Array[]>();

  /**
   * `live`: small batches are gathered only while the next message has already arrived, so that
   * behind a pipe each is handed out as soon as nothing follows it yet (a follower sees it at once).
   * Otherwise the next message is always waited for: batches are gathered the same (and so the
   * statistics computed from them come out the same) however the bytes arrive.
   */
  constructor(
    private readonly src: ByteSource,
    private readonly live = true,
  ) {}

  /** Reads the first schema. */
  async open(): Promise<void> {
    const first = await this.nextMessage();
    if (!first) throw new TsnormError(`${this.src.name}: empty Arrow stream: no schema`, 'TSNORM_ARROW');
    if (!first.message.isSchema()) throw new TsnormError(`${this.src.name}: not an Arrow stream: it does not begin with a schema`, 'TSNORM_ARROW');
    this.schemaBytes = first.bytes;
    this.schema = first.header as A.Schema;
  }

  /**
   * The record batches in order. After an end-of-stream marker another stream may follow: read on
   * when its schema is the same, refused otherwise; a schema within a stream likewise.
   */
  async *batches(): AsyncIterable<NumberedBatch> {
    let index = 0;
    const kinds = flatColumns(this.schema!);
    const small = kinds && new SmallBatches(this.schema!, kinds);
    let smallIndex = 0;
    for (;;) {
      if (small && !this.live && !small.empty) await this.fillMessage();
      if (small && !small.empty && (small.full || !this.messageBuffered())) yield { batch: small.take(), index: smallIndex };
      if (small && this.dictionaries.size === 0 && small.empty) await this.fillMessage();
      const raw = small && this.dictionaries.size === 0 ? this.bufferedMessage() : undefined;
      const read = raw && readSmallBatch(kinds!, raw.metadata, raw.body, raw.length);
      if (read) {
        this.start += raw!.length;
        if (small!.empty) smallIndex = index;
        small!.add(read);
        index++;
        continue;
      }
      if (small && !small.empty) yield { batch: small.take(), index: smallIndex };
      const next = await this.nextMessage();
      if (!next) return;
      const { message, header, bytes } = next;
      if (message.isSchema()) {
        const schema = header as A.Schema;
        if (!(A.util.compareSchemas(this.schema!, schema) as boolean)) {
          throw new TsnormError(
            `${this.src.name}: after record batch ${index} a schema with other columns follows (${schema.fields.map((f: A.Field) => `${f.name}: ${f.type}`).join(', ')}): the schema must not change`,
            'TSNORM_ARROW',
          );
        }
        this.dictionaries.clear();
        continue;
      }
      if (message.isDictionaryBatch()) {
        const dictionary = header as { id: number | bigint; isDelta: boolean };
        const id = Number(dictionary.id);
        const list = dictionary.isDelta ? (this.dictionaries.get(id) ?? []) : [];
        list.push(bytes);
        this.dictionaries.set(id, list);
        continue;
      }
      if (!message.isRecordBatch()) {
        // A tensor, or a type no Arrow message has: silently skipping it would drop the batch it was.
        throw new TsnormError(
          `${this.src.name}: record batch ${index}: a message of type ${message.headerType} where a record batch should be (a corrupt stream: a stream holds schemas, dictionaries and record batches)`,
          'TSNORM_ARROW',
        );
      }
      checkBatchMetadata(header, this.schema!, this.src.name, index);
      const parts = [this.schemaBytes!, ...[...this.dictionaries.values()].flat(), bytes, END_OF_STREAM];
      const reader = A.RecordBatchReader.from(Buffer.concat(parts));
      for (const batch of reader) yield { batch, index: index++ };
    }
  }

  /** Reads until the next message has arrived whole, or the input ends (its errors are nextMessage's to report). */
  private async fillMessage(): Promise<void> {
    if (!(await this.fill(8))) return;
    const head = messageFrame(this.buf, this.start, this.end - this.start)!;
    if (!(head.length > 0 && head.length <= 1 << 30) || !(await this.fill(head.framing + head.length))) return;
    const { body } = messageFrame(this.buf, this.start, this.end - this.start)!;
    if (body !== undefined && body < 1 << 30) await this.fill(head.framing + head.length + body);
  }

  /**
   * The next message, if it has arrived whole: its metadata (a view of the buffer, to be read at
   * once) and its body (a copy: the buffer is reused).
   */
  private bufferedMessage(): { metadata: Uint8Array; body: Uint8Array; length: number } | undefined {
    const frame = messageFrame(this.buf, this.start, this.end - this.start);
    if (frame?.body === undefined) return undefined;
    const { framing, length, body } = frame;
    if (framing + length + body > this.end - this.start) return undefined;
    const at = this.start + framing + length;
    return { metadata: this.buf.subarray(this.start + framing, at), body: this.buf.slice(at, at + body), length: framing + length + body };
  }

  /** Whether another message (or the end) has arrived whole, so that nothing waits for it. */
  private messageBuffered(): boolean {
    if (this.ended && this.end === this.start) return true;
    const frame = messageFrame(this.buf, this.start, this.end - this.start);
    if (frame === undefined) return false;
    return frame.length === 0 || (frame.body !== undefined && frame.framing + frame.length + frame.body <= this.end - this.start);
  }

  /**
   * The next message's bytes (framing included) and its header, decoded now: A.Message decodes
   * its header lazily, from the bytes it was given, and this buffer is reused by later reads.
   * Undefined at the end.
   */
  private async nextMessage(): Promise<{ message: A.Message; header: unknown; bytes: Uint8Array } | undefined> {
    for (;;) {
      const at = this.consumed + this.start;
      if (!(await this.fill(4))) {
        if (this.end > this.start) throw this.truncated(at);
        return undefined;
      }
      let prefix = 4;
      let length = this.view().getInt32(this.start, true);
      if (length === -1) {
        // The continuation marker, then the metadata's length.
        if (!(await this.fill(8))) throw this.truncated(at);
        length = this.view().getInt32(this.start + 4, true);
        prefix = 8;
      }
      if (length === 0) {
        // End of a stream: another may follow.
        this.take(prefix);
        continue;
      }
      if (length < 0 || length > 1 << 30)
        throw new TsnormError(`${this.src.name}: byte ${at}: not an Arrow message (metadata length ${length})`, 'TSNORM_ARROW');
      if (!(await this.fill(prefix + length))) throw this.truncated(at);
      let message: A.Message;
      let header: unknown;
      try {
        const metadata = this.buf.subarray(this.start + prefix, this.start + prefix + length);
        checkMessageMetadata(metadata, `${this.src.name}: byte ${at}`);
        message = A.Message.decode(metadata);
        header = message.isSchema() || message.isRecordBatch() || message.isDictionaryBatch() ? message.header() : undefined;
      } catch (err) {
        if (err instanceof TsnormError) throw err;
        throw new TsnormError(`${this.src.name}: byte ${at}: a corrupt Arrow message (${(err as Error).message})`, 'TSNORM_ARROW');
      }
      const total = prefix + length + Number(message.bodyLength);
      if (!(await this.fill(total))) throw this.truncated(at);
      const bytes = this.take(total);
      return { message, header, bytes };
    }
  }

  private truncated(at: number): TsnormError {
    return new TsnormError(`${this.src.name}: truncated Arrow stream: the message at byte ${at} is cut short`, 'TSNORM_ARROW');
  }

  private view(): DataView {
    return new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** The next n bytes, as a copy, consumed. */
  private take(n: number): Uint8Array {
    const out = this.buf.slice(this.start, this.start + n);
    this.start += n;
    return out;
  }

  /** At least n bytes buffered (false if the input ends first). Reads take what has arrived. */
  private async fill(n: number): Promise<boolean> {
    while (this.end - this.start < n) {
      if (this.ended) return false;
      if (this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.consumed += this.start;
        this.start = 0;
      }
      if (this.buf.length < n) {
        const grown = new Uint8Array(Math.max(n, this.buf.length * 2));
        grown.set(this.buf.subarray(0, this.end));
        this.buf = grown;
      }
      const got = await this.src.read(this.buf, this.end, this.buf.length - this.end, this.consumed + this.end);
      if (got === 0) this.ended = true;
      this.end += got;
    }
    return true;
  }
}

/** The end-of-stream marker: a continuation marker and a zero length. */
const END_OF_STREAM = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);
