import type { NanPolicy } from '../core/engine.js';
import type { Momentum } from '../core/running-stats.js';
import type { OutputCodec, TableOptions } from '../formats/format.js';
import type { FormatName } from '../formats/types.js';
import type { LoadedParams } from '../core/state-dict.js';
import { TsnormError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';

/**
 * Everything a run needs, resolved from the command line before anything is read: which inputs,
 * which output, which mode. The pipeline acts on a Plan and never sees flags.
 */
export interface Plan {
  readonly command: 'normalize' | 'fit' | 'apply' | 'inverse' | 'convert';
  readonly inputs: readonly InputPlan[];
  /** Files of folder inputs that tsnorm does not read (named in a note), copied to an output folder with copyOthers. */
  readonly others?: readonly { readonly path: string; readonly relative: string }[] | undefined;
  readonly copyOthers?: boolean | undefined;
  /** Absent for `fit`, which writes no normalized output. */
  readonly output?: OutputPlan | undefined;
  /** --eps; otherwise the stats file's, otherwise 1e-5. */
  readonly eps: number;
  /** --momentum; otherwise the stats file's, otherwise 0.1 (`cumulative` for fit). */
  readonly momentum: Momentum;
  readonly training: boolean;
  readonly trackRunningStats: boolean;
  readonly stats?: LoadedParams | undefined;
  readonly affine?: LoadedParams | undefined;
  readonly saveStats?: string | undefined;
  /** Instances per running-stats update; undefined: one update per input. */
  readonly batchSize?: number | undefined;
  readonly nan: NanPolicy;
  /** Most values held in memory per group (tests lower it to exercise the streaming paths). */
  readonly budget?: number | undefined;
  /** Layouts of the table formats (CSV/TSV, Arrow) and the CSV/TSV dialect. */
  readonly table: TableOptions;
  /** Format-specific flags given (as typed), and the formats they are for: refused for others. */
  readonly formatFlags: readonly FormatFlag[];
  /** Bytes of one instance held in memory before it spills to a temporary file (default 64 MB). */
  readonly holdBytes?: number | undefined;
  /** Arrow output: compress record batches. */
  readonly compression?: OutputCodec | undefined;
  /** Parquet output: rows per row group. */
  readonly rowGroupSize?: number | undefined;
  /** Threads to use (--threads); 1 when not given (a library caller's plan). */
  readonly threads?: number | undefined;
  /** CSV output formatted in this thread before a worker takes over (tests set 0: the worker at once). */
  readonly offThreadAfter?: number | undefined;
  /** How an input path becomes bytes (default: the file, or stdin for `-`): the seam tests use to give a pipe. */
  readonly openInput?: ((file: string) => Promise<ByteSource>) | undefined;
}

export interface FormatFlag {
  readonly flag: string;
  /** Whether the flag is about the input or the output. */
  readonly side: 'input' | 'output';
  readonly formats: readonly FormatName[];
}

export interface InputPlan {
  readonly path: string;
  readonly format?: FormatName | undefined;
  /** Where its output goes under an output folder (see OutputPlan.folder). */
  readonly relative?: string | undefined;
}

export interface OutputPlan {
  /** A file, `-`, or (folder) the folder each input's output goes to, under its relative path. */
  readonly path: string;
  readonly folder?: boolean | undefined;
  readonly format?: FormatName | undefined;
  readonly dtype?: 'float32' | 'float64' | undefined;
}

export const DEFAULT_EPS = 1e-5;
export const DEFAULT_MOMENTUM = 0.1;

/** How the commands that only read (inspect, check) read their inputs. */
export interface ReadingPlan {
  readonly format?: FormatName | undefined;
  readonly budget?: number | undefined;
  readonly table: TableOptions;
  /** Format-specific input flags given: refused for an input of another format. */
  readonly formatFlags: readonly FormatFlag[];
  /** How an input path becomes bytes (default: the file, or stdin for `-`). */
  readonly openInput?: ((file: string) => Promise<ByteSource>) | undefined;
}

/** Refuses flags that mean nothing for a file of this format, instead of ignoring them silently. */
export function refuseFlagsFor(flags: readonly FormatFlag[], side: FormatFlag['side'], name: string, format: FormatName): void {
  const wrong = flags.filter((f) => f.side === side && !f.formats.includes(format));
  if (wrong.length === 0) return;
  // Flags for the same formats are named together; each group says its own formats.
  const groups = new Map<string, string[]>();
  for (const f of wrong) {
    const formats = f.formats.map((x) => x.toUpperCase()).join('/');
    groups.set(formats, [...(groups.get(formats) ?? []), f.flag]);
  }
  const parts = [...groups].map(([formats, flags]) => `${flags.join(', ')}: for ${formats} ${side}`);
  throw new TsnormError(`${parts.join('; ')}, and ${name} is ${format.toUpperCase()}`, 'TSNORM_USAGE');
}
