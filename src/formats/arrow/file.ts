import type { FileHandle } from 'node:fs/promises';
import * as A from 'apache-arrow';
import { TsnormError, handled } from '../../errors.js';
import { checkBatchMetadata, messageAt } from './validate.js';
import { type ByteSource, readFully } from '../../io/byte-source.js';
import { type NumberedBatch, SMALL_BATCH_BYTES, type SmallBatch, SmallBatches, flatColumns, messageFrame, readSmallBatch } from './small-batches.js';

/** Bytes of consecutive record batches read (and decoded) at a time. */
const GROUP_BYTES = 4 << 20;

/** A footer's entry for a message (apache-arrow's FileBlock, not exported by name). */
interface FooterBlock {
  readonly offset: number | bigint;
  readonly metaDataLength: number;
  readonly bodyLength: number | bigint;
}

/** Where a message lies in the file: its start and its length (metadata, framing and body). */
interface Span {
  readonly offset: number;
  readonly length: number;
  /** Bytes of the message's framing and metadata (its body follows them). */
  readonly metadataLength: number;
}

/** Consecutive record batches read together, and each one's place. */
interface Group {
  readonly offset: number;
  readonly length: number;
  readonly blocks: readonly Span[];
}

/** A file's record batches, read in groups: its schema, the batches in order, nothing to close. */
export interface FileBatches {
  readonly schema: A.Schema;
  batches(): AsyncIterable<NumberedBatch>;
}

/**
 * The IPC file format read through its footer. apache-arrow parses the footer (where the record
 * batches are); the batches themselves are read here, consecutive ones together in one read of
 * up to 4 MB, straight into a buffer that already holds the schema message (and the dictionary
 * batches): a small IPC stream that apache-arrow's synchronous reader decodes in place, without
 * copying the values. The next group is read while the current one is used. (apache-arrow's own
 * file reader reads each batch in several small reads, one after the other, through copies.)
 */
export async function openArrowFile(src: ByteSource): Promise<FileBatches> {
  const size = src.size ?? 0;
  const footerReader = await A.AsyncRecordBatchFileReader.from(positionalHandle(src) as FileHandle);
  await footerReader.open();
  const footer = footerReader.footer;
  const schema = footerReader.schema;
  if (!footer) throw new TsnormError(`${src.name}: corrupt Arrow file: its footer cannot be read`, 'TSNORM_ARROW');
  const span = (block: FooterBlock | null, what: string): Span => {
    const offset = Number(block?.offset ?? -1);
    const metadataLength = Number(block?.metaDataLength ?? 0);
    const length = metadataLength + Number(block?.bodyLength ?? 0);
    if (!(offset >= 8 && length > 0 && offset + length <= size)) {
      throw new TsnormError(
        `${src.name}: corrupt Arrow file: its footer places ${what} at bytes ${offset}..${offset + length}, outside the file (${size} bytes)`,
        'TSNORM_ARROW',
      );
    }
    return { offset, length, metadataLength };
  };
  const dictionaries = Array.from({ length: footer.numDictionaries }, (_, i) => span(footer.getDictionaryBatch(i), `dictionary batch ${i}`));
  const batches = Array.from({ length: footer.numRecordBatches }, (_, i) => span(footer.getRecordBatch(i), `record batch ${i}`));
  const prefix = concat([schemaMessage(schema), ...(await Promise.all(dictionaries.map((d) => readSpan(src, d))))]);
  const groups = groupConsecutive(batches);

  const load = (group: Group): Promise<Uint8Array> => {
    // The schema (and dictionaries), the group's messages as they are in the file, an end marker.
    const buf = new Uint8Array(prefix.length + group.length + 8);
    buf.set(prefix, 0);
    new DataView(buf.buffer).setInt32(prefix.length + group.length, -1, true);
    return handled(
      readFully(src, buf, prefix.length, group.length, group.offset).then((n) => {
        if (n < group.length)
          throw new TsnormError(`${src.name}: truncated Arrow file: bytes ${group.offset}..${group.offset + group.length} cannot be read`, 'TSNORM_ARROW');
        return buf;
      }),
    );
  };

  const kinds = dictionaries.length === 0 ? flatColumns(schema) : undefined;
  /** The group's messages checked against the footer and the schema, then decoded in place. */
  function* decoded(buf: Uint8Array, group: Group, first: number): Iterable<NumberedBatch> {
    let index = first;
    for (const block of group.blocks) {
      const where = `${src.name}: corrupt Arrow file: record batch ${index}`;
      const message = messageAt(buf, prefix.length + block.offset - group.offset, where);
      if (!message.isRecordBatch()) throw new TsnormError(`${where}: the footer points at a message that is no record batch`, 'TSNORM_ARROW');
      checkBatchMetadata(message.header(), schema, src.name, index);
      index++;
    }
    index = first;
    for (const batch of A.RecordBatchReader.from(buf)) yield { batch: batch as A.RecordBatch, index: index++ };
  }

  return {
    schema,
    async *batches() {
      let next = groups.length > 0 ? load(groups[0]!) : undefined;
      let index = 0;
      const small = kinds && new SmallBatches(schema, kinds);
      let smallIndex = 0;
      for (let g = 0; g < groups.length; g++) {
        const buf = await next!;
        next = g + 1 < groups.length ? load(groups[g + 1]!) : undefined;
        const group = groups[g]!;
        if (!small || group.blocks[0]!.length >= SMALL_BATCH_BYTES) {
          if (small && !small.empty) yield { batch: small.take(), index: smallIndex };
          yield* decoded(buf, group, index);
          index += group.blocks.length;
          continue;
        }
        // Small batches, gathered; one that cannot be (as a stream would do) handed out alone.
        for (const block of group.blocks) {
          const batch = readSmallBlock(kinds!, buf, prefix.length + block.offset - group.offset, block);
          if (batch) {
            if (small.empty) smallIndex = index;
            small.add(batch);
            if (small.full) yield { batch: small.take(), index: smallIndex };
          } else {
            if (!small.empty) yield { batch: small.take(), index: smallIndex };
            const alone = { offset: block.offset, length: block.length, blocks: [block] };
            const own = new Uint8Array(prefix.length + block.length + 8);
            own.set(prefix, 0);
            own.set(buf.subarray(prefix.length + block.offset - group.offset, prefix.length + block.offset - group.offset + block.length), prefix.length);
            new DataView(own.buffer).setInt32(prefix.length + block.length, -1, true);
            yield* decoded(own, alone, index);
          }
          index++;
        }
      }
      if (small && !small.empty) yield { batch: small.take(), index: smallIndex };
    },
  };
}

/** The message at `start` of buf (as the footer places it) read for gathering, or undefined if it cannot be. */
function readSmallBlock(kinds: Parameters<typeof readSmallBatch>[0], buf: Uint8Array, start: number, block: Span): SmallBatch | undefined {
  // The footer gives the body's length: the metadata is read once, by readSmallBatch.
  const frame = messageFrame(buf, start, block.length, false);
  if (!frame || !(frame.length > 0 && frame.framing + frame.length === block.metadataLength)) return undefined;
  const { framing, length } = frame;
  return readSmallBatch(
    kinds,
    buf.subarray(start + framing, start + framing + length),
    buf.subarray(start + block.metadataLength, start + block.length),
    block.length,
  );
}

/**
 * Consecutive record batches (each beginning where the one before ended) in groups of up to
 * GROUP_BYTES; a batch larger than that is a group of its own. Small batches and others are not
 * grouped together, so that a group of small ones can be gathered.
 */
function groupConsecutive(spans: readonly Span[]): Group[] {
  const groups: Group[] = [];
  let current: { offset: number; length: number; blocks: Span[] } | undefined;
  for (const s of spans) {
    const small = (span: Span): boolean => span.length < SMALL_BATCH_BYTES;
    if (current && s.offset === current.offset + current.length && current.length + s.length <= GROUP_BYTES && small(s) === small(current.blocks[0]!)) {
      current.length += s.length;
      current.blocks.push(s);
    } else {
      if (current) groups.push(current);
      current = { offset: s.offset, length: s.length, blocks: [s] };
    }
  }
  if (current) groups.push(current);
  return groups;
}

/**
 * The schema as a stream message (continuation marker, length, metadata padded to 8 bytes), made
 * from the footer's schema: a file need not begin with one (apache-arrow's files do not).
 */
function schemaMessage(schema: A.Schema): Uint8Array {
  const metadata = A.Message.encode(A.Message.from(schema));
  const padded = Math.ceil(metadata.length / 8) * 8;
  const out = new Uint8Array(8 + padded);
  const view = new DataView(out.buffer);
  view.setInt32(0, -1, true);
  view.setInt32(4, padded, true);
  out.set(metadata, 8);
  return out;
}

async function readSpan(src: ByteSource, span: Span): Promise<Uint8Array> {
  const buf = new Uint8Array(span.length);
  const n = await readFully(src, buf, 0, span.length, span.offset);
  if (n < span.length)
    throw new TsnormError(`${src.name}: truncated Arrow file: bytes ${span.offset}..${span.offset + span.length} cannot be read`, 'TSNORM_ARROW');
  return buf;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What apache-arrow reads the footer through: positional reads of our source. */
function positionalHandle(src: ByteSource): unknown {
  const size = src.size ?? 0;
  return {
    fd: -1,
    async stat() {
      return { size };
    },
    async read(buffer: Uint8Array, offset: number, length: number, position: number) {
      return { bytesRead: await readFully(src, buffer, offset, length, position), buffer };
    },
    async close() {},
  };
}
