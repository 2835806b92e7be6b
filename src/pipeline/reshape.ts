import { channelStart } from '../core/block.js';
import { TsnormError } from '../errors.js';
import type { CellValue, DataBlock, PassColumn, Schema, SeriesWriter, WriterNeeds } from '../formats/types.js';
import { BlockSpill } from './block-spill.js';
import { ArrayPassColumn, RepeatedPassColumn, blockBytes, carriedColumns, ownedCopy } from './blocks.js';

/**
 * Hands blocks to a writer in the orientation it takes. Blocks already in that orientation go
 * straight through; otherwise each instance is collected (in memory up to `holdBytes`, then in a
 * spill file) and re-blocked when complete: rows into series for a series writer, series into
 * rows for a rows writer. Pass-through columns follow: an instance's rows become per-instance
 * values (the id) and lists (every other column); per-instance values become rows again.
 */
export class Reshaper {
  private readonly needs: WriterNeeds;
  private collecting: { instance: number; blocks: DataBlock[]; bytes: number; spill: BlockSpill | null } | null = null;

  constructor(
    private readonly writer: SeriesWriter,
    private readonly schema: Schema,
    private readonly holdBytes: number,
  ) {
    this.needs = writer.needs;
  }

  /** Whether blocks reach the writer as they are. */
  private passes(b: DataBlock): boolean {
    if (this.needs.orientation !== this.schema.orientation) return false;
    if (!this.needs.wholeInstances) return true;
    const steps = b.instanceSteps ?? this.schema.steps;
    return b.firstChannel === 0 && b.channelCount === this.schema.channels && b.firstStep === 0 && b.stepCount === steps;
  }

  /**
   * Returns whether the blocks are done with: each went to a writer that uses nothing of them once
   * its write resolves (WriterNeeds.doneOnWrite), and none is held here to be re-blocked.
   */
  async write(blocks: readonly DataBlock[]): Promise<boolean> {
    if (this.collecting === null && blocks.every((b) => this.passes(b))) {
      await this.writer.write(blocks);
      return this.needs.doneOnWrite === true;
    }
    for (const b of blocks) {
      if (this.collecting && this.collecting.instance !== b.instance) await this.emit();
      if (this.collecting === null && this.passes(b)) {
        await this.writer.write([b]);
        continue;
      }
      this.collect(b);
    }
    // The caller reuses its output arrays after this call: what is held was copied (values only).
    return false;
  }

  async finish(): Promise<void> {
    if (this.collecting) await this.emit();
  }

  async close(): Promise<void> {
    await this.collecting?.spill?.remove();
    this.collecting = null;
  }

  private collect(b: DataBlock): void {
    const c = (this.collecting ??= { instance: b.instance, blocks: [], bytes: 0, spill: null });
    if (c.spill) {
      c.spill.write(b);
      return;
    }
    c.blocks.push(ownedCopy(b));
    c.bytes += blockBytes(b);
    if (c.bytes > this.holdBytes) {
      c.spill = new BlockSpill();
      for (const h of c.blocks) c.spill.write(h);
      c.blocks = [];
    }
  }

  /** The collected instance, re-blocked for the writer. */
  private async emit(): Promise<void> {
    const c = this.collecting!;
    this.collecting = null;
    try {
      if (this.needs.orientation === 'series') await this.emitSeries(c.instance, c.blocks, c.spill);
      else await this.emitRows(c.instance, c.blocks, c.spill);
      // The writer may use the last block's values until its next write: hand it nothing more now.
      await this.writer.write([]);
    } finally {
      await c.spill?.remove();
    }
  }

  private async emitSeries(instance: number, held: DataBlock[], spill: BlockSpill | null): Promise<void> {
    const C = this.schema.channels;
    const blocks = held;
    // Rows of all channels: the instance's length is the sum of its blocks' steps.
    const L = spill ? spill.stepsOfChannel(0) : blocks.reduce((n, b) => (b.firstChannel === 0 ? n + b.stepCount : n), 0);
    if (spill) {
      if (this.needs.wholeInstances) {
        throw new TsnormError(
          `${this.writer.name}: instance ${instance} (${C} x ${L} values) is too large to write as one row of the list layout`,
          'TSNORM_OUTPUT',
        );
      }
      for (let ch = 0; ch < C; ch++) {
        const values = new Float64Array(L);
        spill.readChannel(ch, 0, L, values);
        await this.writer.write([
          { instance, values, offset: 0, channelStride: L, stepStride: 1, firstChannel: ch, channelCount: 1, firstStep: 0, stepCount: L, instanceSteps: L },
        ]);
      }
      return;
    }
    const values = new Float64Array(C * L);
    for (const b of blocks) {
      for (let ch = b.firstChannel; ch < b.firstChannel + b.channelCount; ch++) {
        const from = channelStart(b, ch);
        for (let t = 0; t < b.stepCount; t++) values[ch * L + b.firstStep + t] = b.values[from + t * b.stepStride]!;
      }
    }
    const instancePass = this.needs.passThrough ? this.instanceValues(blocks, L) : undefined;
    await this.writer.write([
      {
        instance,
        values,
        offset: 0,
        channelStride: L,
        stepStride: 1,
        firstChannel: 0,
        channelCount: C,
        firstStep: 0,
        stepCount: L,
        instanceSteps: L,
        ...(instancePass ? { instancePass } : {}),
      },
    ]);
  }

  /** Rows' pass-through columns as one value per instance: the id's first value, a list for the others. */
  private instanceValues(rows: DataBlock[], L: number): CellValue[] {
    return carriedColumns(this.schema).map((spec, k) => {
      const values: CellValue[] = [];
      for (const b of rows) {
        const col = b.pass?.[k];
        if (col) for (let i = 0; i < col.length; i++) values.push(col.value(i));
      }
      if (spec.role === 'id') return values[0] ?? null;
      return values.length === L ? values : values.slice(0, L);
    });
  }

  private async emitRows(instance: number, held: DataBlock[], spill: BlockSpill | null): Promise<void> {
    const C = this.schema.channels;
    const first: DataBlock | undefined = held[0] ?? spill?.read()[Symbol.iterator]().next().value;
    const L = first?.instanceSteps ?? this.schema.steps ?? 0;
    const pass = this.needs.passThrough ? first?.instancePass : undefined;
    // Only a list column spreads over the rows (not binary, whose bytes are a list of numbers too).
    const lists = carriedColumns(this.schema).map((spec) => spec.type === 'list');
    // In chunks of rows that fit the budget, so that a spilled instance comes back a piece at a time.
    const chunk = spill ? Math.max(1, Math.floor(this.holdBytes / (C * 8))) : L;
    const blocks = spill ? [] : held;
    for (let t0 = 0; t0 < L; t0 += chunk) {
      const n = Math.min(chunk, L - t0);
      const values = new Float64Array(n * C);
      if (spill) {
        const run = new Float64Array(n);
        for (let ch = 0; ch < C; ch++) {
          spill.readChannel(ch, t0, n, run);
          for (let t = 0; t < n; t++) values[t * C + ch] = run[t]!;
        }
      } else {
        for (const b of blocks) {
          for (let ch = b.firstChannel; ch < b.firstChannel + b.channelCount; ch++) {
            const from = channelStart(b, ch);
            for (let t = 0; t < b.stepCount; t++) {
              const s = b.firstStep + t;
              if (s >= t0 && s < t0 + n) values[(s - t0) * C + ch] = b.values[from + t * b.stepStride]!;
            }
          }
        }
      }
      await this.writer.write([
        {
          instance,
          values,
          offset: 0,
          channelStride: 1,
          stepStride: C,
          firstChannel: 0,
          channelCount: C,
          firstStep: t0,
          stepCount: n,
          ...(pass ? { pass: pass.map((v, k) => rowsOf(v, L, t0, n, lists[k] === true, first?.instanceColumns?.[k])) } : {}),
        },
      ]);
    }
  }
}

/**
 * A per-instance value on rows [t0, t0 + n) of an instance of L rows: a list (of a list column)
 * of L values spreads over them; anything else repeats, with its own format's text when it has one (`own`).
 */
function rowsOf(v: CellValue, L: number, t0: number, n: number, list: boolean, own?: PassColumn): PassColumn {
  if (list && Array.isArray(v) && v.length === L) return new SpreadPassColumn(v.slice(t0, t0 + n), t0, own);
  return new RepeatedPassColumn(v, n, own?.text(0));
}

/** Elements [t0, t0 + n) of an instance's list, a row each: each as text in the list's own element type (a timestamp as a time). */
class SpreadPassColumn extends ArrayPassColumn {
  private readonly ofList: PassColumn | undefined;

  constructor(
    values: readonly CellValue[],
    private readonly t0: number,
    own: PassColumn | undefined,
  ) {
    super(values);
    this.ofList = own?.elements?.(0);
  }

  override text(i: number): string {
    return this.ofList?.text(this.t0 + i) ?? super.text(i);
  }
}
