import type { Block } from '../core/block.js';

/** What a reader knows of its data before the values, and what a writer needs to start. */
export interface SeriesLayout {
  readonly channels: number;
  /** Channel names, when the format has them (CSV headers). */
  readonly channelNames?: readonly string[] | undefined;
  /** Number of instances, when known up front (NPY). */
  readonly instances?: number | undefined;
  /** Length of every instance, when they all have the same and it is known (NPY). */
  readonly steps?: number | undefined;
  /** (C, L) input: one instance without a batch dimension. */
  readonly unbatched: boolean;
  /** Element type of the input, as NPY names it ('<f4', '>i2', ...), when it has one. */
  readonly dtype?: string | undefined;
  /** How messages name instance i when the format has more to say than its index (a CSV id). */
  describeInstance?(instance: number): string;
}

/**
 * Channels [firstChannel, firstChannel + channelCount) of one instance, complete: its statistics
 * can be computed from this unit alone. Either in memory (`block`) or too large for that, then
 * `pass()` yields its blocks in order and can be called again for the second pass.
 */
export interface StatsUnit {
  readonly instance: number;
  readonly firstChannel: number;
  readonly channelCount: number;
  readonly steps: number;
  /** The instance's last unit: its statistics are complete after this one. */
  readonly endsInstance: boolean;
  readonly block?: Block | undefined;
  pass?(): AsyncIterable<Block>;
}

/**
 * A reader of one input. Groups of blocks or units are yielded in input order; their values
 * arrays are valid until the next group is asked for.
 */
export interface SeriesReader {
  readonly name: string;
  readonly layout: SeriesLayout;
  /** One pass in input order, as soon as data is available (eval, convert). */
  blocks(): AsyncIterable<readonly Block[]>;
  /** Units for two-pass processing (instance statistics, then transform). */
  units(): AsyncIterable<readonly StatsUnit[]>;
  /** A position for error messages: the byte offset or line of channel c, step t of a block it yielded. */
  locate(block: Block, channel: number, step: number): string;
  close(): Promise<void>;
}

/** A writer of one output: `start` once, `write` groups of blocks in order, then `finish` or `abort`. */
export interface SeriesWriter {
  readonly name: string;
  /** The array type the writer takes without conversion: the pipeline transforms straight into it. */
  readonly valueType: 'float32' | 'float64';
  start(layout: SeriesLayout): Promise<void>;
  /**
   * Writes blocks in order. The writer may go on using their values arrays until the next call
   * to write() resolves (or finish()): callers alternate between two output arrays.
   */
  write(blocks: readonly Block[]): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

export type FormatName = 'npy' | 'csv' | 'tsv' | 'arrow';
