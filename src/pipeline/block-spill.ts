import fs from 'node:fs';
import { createRequire } from 'node:module';
import { channelStart } from '../core/block.js';
import type { CellValue, DataBlock, PassColumn, RowText } from '../formats/types.js';
import { createScratchFile, discardTempFile, scratchError, scratchIo, writeScratch } from '../io/temp-files.js';

/**
 * Blocks written to a temporary file and read back in order: what does not fit in memory for a
 * second pass (an instance's rows before its statistics are known, an instance being re-blocked).
 * Each block is stored compactly (its own values only, in its orientation), with its pass-through
 * columns and row text, so that it comes back as the same block.
 */
export class BlockSpill {
  private readonly file = createScratchFile('blocks');
  private size = 0;
  /** Where each block starts, and its values' place: for reading one channel's values back. */
  private readonly index: {
    at: number;
    instance: number;
    firstChannel: number;
    channelCount: number;
    firstStep: number;
    stepCount: number;
    valuesAt: number;
    rowsMajor: boolean;
  }[] = [];

  /** The steps of channel c that the spilled blocks hold. */
  stepsOfChannel(c: number): number {
    return this.index.reduce((n, e) => (c >= e.firstChannel && c < e.firstChannel + e.channelCount ? n + e.stepCount : n), 0);
  }

  write(b: DataBlock): void {
    // The block's own values, packed: rows of channels (time-major) or series of steps.
    const rowsMajor = b.channelStride === 1 && b.channelCount > 1 ? true : b.stepStride !== 1;
    const values = new Float64Array(b.channelCount * b.stepCount);
    for (let c = 0; c < b.channelCount; c++) {
      const from = channelStart(b, b.firstChannel + c);
      for (let t = 0; t < b.stepCount; t++) {
        values[rowsMajor ? t * b.channelCount + c : c * b.stepCount + t] = b.values[from + t * b.stepStride]!;
      }
    }
    const extra = v8().serialize({
      pass: b.pass?.map((col) => ({
        values: Array.from({ length: col.length }, (_, i) => col.value(i)),
        texts: Array.from({ length: col.length }, (_, i) => col.text(i)),
      })),
      rows: b.rows && sliceRows(b.rows),
      instanceSteps: b.instanceSteps,
      instancePass: b.instancePass,
    });
    const head = Float64Array.of(b.instance, b.firstChannel, b.channelCount, b.firstStep, b.stepCount, rowsMajor ? 1 : 0, extra.length);
    const at = this.size;
    this.append(new Uint8Array(head.buffer));
    const valuesAt = this.size;
    this.append(new Uint8Array(values.buffer));
    this.append(extra);
    this.index.push({
      at,
      instance: b.instance,
      firstChannel: b.firstChannel,
      channelCount: b.channelCount,
      firstStep: b.firstStep,
      stepCount: b.stepCount,
      valuesAt,
      rowsMajor,
    });
  }

  /** The blocks back, in the order written. */
  *read(): Iterable<DataBlock> {
    for (const entry of this.index) {
      const head = new Float64Array(this.take(entry.at, 56).buffer);
      const [instance, firstChannel, channelCount, firstStep, stepCount, rowsMajor, extraBytes] = Array.from(head) as number[];
      const count = channelCount! * stepCount!;
      const values = new Float64Array(this.take(entry.valuesAt, count * 8).buffer);
      const extra = v8().deserialize(this.take(entry.valuesAt + count * 8, extraBytes!)) as SpilledExtra;
      yield {
        instance: instance!,
        values,
        offset: 0,
        channelStride: rowsMajor ? 1 : stepCount!,
        stepStride: rowsMajor ? channelCount! : 1,
        firstChannel: firstChannel!,
        channelCount: channelCount!,
        firstStep: firstStep!,
        stepCount: stepCount!,
        ...(extra.pass ? { pass: extra.pass.map((p) => new StoredPassColumn(p.values, p.texts)) } : {}),
        ...(extra.rows ? { rows: extra.rows } : {}),
        ...(extra.instanceSteps !== undefined ? { instanceSteps: extra.instanceSteps } : {}),
        ...(extra.instancePass ? { instancePass: extra.instancePass } : {}),
      };
    }
  }

  /**
   * The values of channel `c`, steps [from, from + count), gathered from the spilled blocks of
   * one instance (rows or series): for re-blocking an instance too large to hold.
   */
  readChannel(c: number, from: number, count: number, out: Float64Array): void {
    for (const e of this.index) {
      if (c < e.firstChannel || c >= e.firstChannel + e.channelCount) continue;
      const lo = Math.max(from, e.firstStep);
      const hi = Math.min(from + count, e.firstStep + e.stepCount);
      if (lo >= hi) continue;
      const k = c - e.firstChannel;
      if (e.rowsMajor) {
        const rows = new Float64Array(this.take(e.valuesAt + (lo - e.firstStep) * e.channelCount * 8, (hi - lo) * e.channelCount * 8).buffer);
        for (let t = lo; t < hi; t++) out[t - from] = rows[(t - lo) * e.channelCount + k]!;
      } else {
        const run = new Float64Array(this.take(e.valuesAt + (k * e.stepCount + lo - e.firstStep) * 8, (hi - lo) * 8).buffer);
        out.set(run, lo - from);
      }
    }
  }

  async remove(): Promise<void> {
    await discardTempFile(this.file);
  }

  private append(bytes: Uint8Array): void {
    writeScratch(this.file.fd, bytes, 0, bytes.length, this.size);
    this.size += bytes.length;
  }

  private take(at: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let done = 0; done < n; ) {
      const got = scratchIo(() => fs.readSync(this.file.fd, out, done, n - done, at + done));
      // Shorter than written: the scratch file failed underneath; never hand out zeros.
      if (got === 0) throw scratchError(Object.assign(new Error(`the scratch file ended at byte ${at + done}`), { code: 'EIO' }));
      done += got;
    }
    return out;
  }
}

interface SpilledExtra {
  pass?: { values: CellValue[]; texts: string[] }[];
  rows?: RowText;
  instanceSteps?: number;
  instancePass?: CellValue[];
}

/** A block's rows only (the text object may hold the rows of a whole read): offsets from their first byte. */
function sliceRows(r: RowText): RowText {
  const count = r.count;
  const from = r.records[2 * r.first]!;
  const to = r.records[2 * (r.first + count) - 1]!;
  return {
    bytes: r.bytes.slice(from, to),
    records: r.records.slice(2 * r.first, 2 * (r.first + count)).map((x) => x - from),
    lines: r.lines.slice(r.first, r.first + count),
    spans: r.spans.slice(r.first * r.columns * 2, (r.first + count) * r.columns * 2).map((x) => x - from),
    columns: r.columns,
    first: 0,
    count,
  };
}

/** A pass-through column kept as its values and texts. */
export class StoredPassColumn implements PassColumn {
  constructor(
    private readonly values: readonly CellValue[],
    private readonly texts: readonly string[],
  ) {}

  get length(): number {
    return this.values.length;
  }

  value(i: number): CellValue {
    return this.values[i]!;
  }

  text(i: number): string {
    return this.texts[i]!;
  }
}

let v8Module: typeof import('node:v8') | undefined;

/** node:v8, loaded when a block first spills: it loads the stream modules (a cost every start-up would pay). */
function v8(): typeof import('node:v8') {
  return (v8Module ??= createRequire(import.meta.url)('node:v8') as typeof import('node:v8'));
}
