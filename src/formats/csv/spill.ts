import fs from 'node:fs';
import type { Block } from '../../core/block.js';
import { createScratchFile, discardTempFile, scratchIo } from '../../io/temp-files.js';
import type { CsvRowsPayload } from './payload.js';

/**
 * Blocks of CSV rows written to a temporary file and read back in order: the second pass over
 * an instance too large to hold. Each block: a small header, values, spans, row texts.
 */
export class CsvSpill {
  private readonly file = createScratchFile('rows');
  private size = 0;

  write(b: Block): void {
    const p = b.payload as CsvRowsPayload;
    const rows = p.raws.slice(p.first, p.first + rowCount(b));
    const text = Buffer.from(rows.join(''), 'latin1');
    const head = Int32Array.of(b.instance, b.firstChannel, b.channelCount, b.firstStep, b.stepCount, p.columns, rows.length, text.length, b.channelStride, b.stepStride);
    const values = Float64Array.from(b.values.subarray(b.offset, b.offset + rows.length * (b.channelStride === 1 ? b.stepStride : b.channelStride)));
    const spans = p.spans.slice(p.first * p.columns * 2, (p.first + rows.length) * p.columns * 2);
    const lengths = Int32Array.from(rows, (r) => r.length);
    const lines = Int32Array.from(p.lines.slice(p.first, p.first + rows.length));
    for (const part of [head, values, spans, lengths, lines, text]) this.append(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  }

  /** The blocks back, in the order written. */
  *read(): Iterable<Block> {
    let at = 0;
    while (at < this.size) {
      const head = new Int32Array(this.take(at, 40).buffer);
      at += 40;
      const [instance, firstChannel, channelCount, firstStep, stepCount, columns, rows, textBytes, channelStride, stepStride] = Array.from(head) as number[];
      const valueCount = rows! * (channelStride === 1 ? stepStride! : channelStride!);
      const values = new Float64Array(this.take(at, valueCount * 8).buffer);
      at += valueCount * 8;
      const spans = new Int32Array(this.take(at, rows! * columns! * 8).buffer);
      at += rows! * columns! * 8;
      const lengths = new Int32Array(this.take(at, rows! * 4).buffer);
      at += rows! * 4;
      const lines = Array.from(new Int32Array(this.take(at, rows! * 4).buffer));
      at += rows! * 4;
      const bytes = this.take(at, textBytes!);
      const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
      at += textBytes!;
      const raws: string[] = [];
      let pos = 0;
      for (const len of lengths) { raws.push(text.slice(pos, pos + len)); pos += len; }
      const payload: CsvRowsPayload = { kind: 'csv-rows', raws, lines, spans, columns: columns!, first: 0 };
      yield {
        instance: instance!, values, offset: 0, channelStride: channelStride!, stepStride: stepStride!,
        firstChannel: firstChannel!, channelCount: channelCount!, firstStep: firstStep!, stepCount: stepCount!, payload,
      };
    }
  }

  async remove(): Promise<void> {
    await discardTempFile(this.file);
  }

  private append(bytes: Uint8Array): void {
    scratchIo(() => fs.writeSync(this.file.fd, bytes, 0, bytes.length, this.size));
    this.size += bytes.length;
  }

  private take(at: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    scratchIo(() => fs.readSync(this.file.fd, out, 0, n, at));
    return out;
  }
}

/** Rows of a block: steps when rows are time steps (long), channels when rows are channels (wide). */
function rowCount(b: Block): number {
  return b.channelStride === 1 ? b.stepCount : b.channelCount;
}
