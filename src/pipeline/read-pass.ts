import { openReader } from '../formats/registry.js';
import type { DataBlock, FormatName, SeriesReader } from '../formats/types.js';
import type { ReadMeter } from '../io/read-meter.js';
import { type ReadingPlan, refuseFlagsFor } from './plan.js';

/**
 * Reading an input, as every command does it: the reader of its format opened (through the
 * plan's input seam, a file by default), the input flags its format does not use refused, then
 * its blocks in order with the instances they belong to.
 */

export interface OpenedInput {
  readonly reader: SeriesReader;
  readonly format: FormatName;
}

/** Opens an input for reading; the input flags its format does not use are refused (and it is closed). */
export async function openInputReader(
  file: string,
  reading: ReadingPlan,
  options: { live: boolean; exact?: boolean; meter?: ReadMeter | undefined },
): Promise<OpenedInput> {
  const { reader, format } = await openReader(file, {
    format: reading.format,
    budget: reading.budget,
    table: reading.table,
    live: options.live,
    exact: options.exact,
    meter: options.meter,
    openInput: reading.openInput,
  });
  try {
    refuseFlagsFor(reading.formatFlags, 'input', reader.name, format);
  } catch (err) {
    await reader.close();
    throw err;
  }
  return { reader, format };
}

/** What a pass over the blocks sees: each block, the end of each group, where instances begin and end. */
export interface BlockVisitor {
  /** An instance begins with this block (before `block` sees it). */
  instanceStart?(b: DataBlock): void;
  block(b: DataBlock): void | Promise<void>;
  /**
   * The reader is about to refill the buffers of this group's blocks: what is kept of them must be
   * used or copied now.
   */
  groupEnd?(group: readonly DataBlock[]): void | Promise<void>;
  /** The instance has ended: its number and its steps. */
  instanceEnd?(instance: number, steps: number): void | Promise<void>;
}

/**
 * Every block of the reader, in order, to the visitor, group by group; instances are told apart
 * as they change (their steps counted on their first channel's blocks). The one loop over an
 * input's blocks: run (each of its passes), inspect and check read through it. The caller checks
 * the input unchanged when it is done with it (checkInputsUnchanged): a file truncated or
 * rewritten while it was read is an error, not a result.
 */
export async function readBlocks(reader: SeriesReader, visitor: BlockVisitor): Promise<void> {
  let current = -1;
  let steps = 0;
  for await (const group of reader.blocks()) {
    for (const b of group) {
      if (b.instance !== current) {
        if (current >= 0) await visitor.instanceEnd?.(current, steps);
        current = b.instance;
        steps = 0;
        visitor.instanceStart?.(b);
      }
      if (b.firstChannel === 0) steps += b.stepCount;
      await visitor.block(b);
    }
    await visitor.groupEnd?.(group);
  }
  if (current >= 0) await visitor.instanceEnd?.(current, steps);
}
