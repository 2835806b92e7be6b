import { channelStart } from '../core/block.js';
import { ChannelMoments } from '../core/moments.js';
import { float32Text, numberText } from '../formats/number-text.js';
import { causeOfFailure, checkInputsUnchanged } from '../io/byte-source.js';
import type { ReadMeter } from '../io/read-meter.js';
import type { FormatName } from '../formats/types.js';
import { type GroupingHint, GroupingWatch } from './grouping.js';
import type { ReadingPlan } from './plan.js';
import { openInputReader, readBlocks } from './read-pass.js';

/** What `tsnorm inspect` says of one input. */
export interface InputSummary {
  readonly file: string;
  readonly format: FormatName;
  readonly layout: string;
  readonly instances: number;
  readonly channels: number;
  /** Shortest and longest instance (equal when all have one length). */
  readonly steps: { readonly min: number; readonly max: number };
  readonly values: number;
  readonly dtype: string;
  readonly unbatched: boolean;
  readonly columns: readonly { readonly name: string; readonly type: string; readonly role: string }[];
  readonly perChannel: readonly ChannelSummary[];
  /** Read without --id as one instance, a column that says the rows belong to several (see GroupingWatch). */
  readonly grouping?: GroupingHint | undefined;
}

export interface ChannelSummary {
  readonly name: string;
  /** Values present (not missing). */
  readonly count: number;
  readonly missing: number;
  /** Infinite values (counted in count, left out of mean and std). */
  readonly infinite: number;
  readonly mean: number | null;
  /** Population standard deviation over all values of all instances. */
  readonly std: number | null;
  /** Smallest and largest finite value (infinities are counted in `infinite`; JSON has none). */
  readonly min: number | null;
  readonly max: number | null;
}

/**
 * One streaming pass over an input: its format, layout, shape and, per channel, count, mean,
 * std (float64 moments, merged as they come), min, max and missing values. Memory stays flat:
 * nothing but the running sums is kept.
 */
export async function inspectInput(file: string, options: ReadingPlan, meter?: ReadMeter): Promise<InputSummary> {
  const { reader, format } = await openInputReader(file, options, { live: true, meter });
  try {
    const { schema } = reader;
    const C = schema.channels;
    const moments = new ChannelMoments(C);
    const missing = new Float64Array(C);
    const infinite = new Float64Array(C);
    const min = new Float64Array(C).fill(Infinity);
    const max = new Float64Array(C).fill(-Infinity);
    const finite = new Float64Array(1024);
    let instances = 0;
    let shortest = Infinity;
    let longest = 0;
    let values = 0;
    const grouping = options.table.id === undefined && schema.orientation === 'rows' ? new GroupingWatch(schema) : undefined;
    await readBlocks(reader, {
      instanceEnd(_instance, steps) {
        instances++;
        shortest = Math.min(shortest, steps);
        longest = Math.max(longest, steps);
      },
      block(b) {
        grouping?.see(b, (blk, c, t) => reader.locate(blk, c, t));
        values += b.channelCount * b.stepCount;
        for (let c = b.firstChannel; c < b.firstChannel + b.channelCount; c++) {
          const from = channelStart(b, c);
          // The finite values go to the moments (in pieces), the rest is counted.
          let n = 0;
          for (let t = 0; t < b.stepCount; t++) {
            const x = b.values[from + t * b.stepStride]!;
            if (x !== x) {
              missing[c]!++;
              continue;
            }
            if (x === Infinity || x === -Infinity) {
              infinite[c]!++;
            } else {
              finite[n++] = x;
              if (n === finite.length) {
                moments.add(c, finite, 0, n, 1);
                n = 0;
              }
              if (x < min[c]!) min[c] = x;
              if (x > max[c]!) max[c] = x;
            }
          }
          if (n > 0) moments.add(c, finite, 0, n, 1);
        }
      },
    });
    checkInputsUnchanged();
    const names = schema.channelNames ?? schema.columns.filter((c) => c.role === 'channel').map((c) => c.name);
    return {
      file: reader.name,
      format,
      layout: format === 'npy' ? '(N, C, L) array' : schema.orientation === 'rows' ? 'long layout' : `${options.table.layout} layout`,
      instances,
      channels: C,
      steps: { min: instances === 0 ? 0 : shortest, max: longest },
      values,
      dtype: schema.valueType,
      unbatched: schema.unbatched,
      columns: schema.columns.map((c) => ({ name: c.name, type: c.type, role: c.generated ? `${c.role} (made up)` : c.role })),
      perChannel: Array.from({ length: C }, (_, c) => {
        const count = moments.count[c]!;
        return {
          name: names[c] ?? `c${c}`,
          count: count + infinite[c]!,
          missing: missing[c]!,
          infinite: infinite[c]!,
          mean: count > 0 ? moments.mean(c) : null,
          std: count > 0 ? moments.std(c) : null,
          min: min[c]! <= max[c]! ? min[c]! : null,
          max: min[c]! <= max[c]! ? max[c]! : null,
        };
      }),
      ...(instances === 1 && grouping?.hint() ? { grouping: grouping.hint() } : {}),
    };
  } catch (err) {
    throw causeOfFailure(err);
  } finally {
    await reader.close();
  }
}

/** The summary as an aligned table for a terminal. */
export function formatSummary(s: InputSummary): string {
  const shape = s.steps.min === s.steps.max ? `${s.steps.max}` : `${s.steps.min}..${s.steps.max}`;
  const lines = [
    `${s.file}: ${s.format.toUpperCase()}, ${s.layout}, ${s.values.toLocaleString('en')} values`,
    `shape:  ${s.unbatched && s.instances === 1 ? '' : `${s.instances} instances x `}${s.channels} channels x ${shape} steps (${s.dtype})`,
  ];
  // Columns the file has besides its channels (not the id and step an NPY would get as CSV).
  const other = s.columns.filter((c) => c.role !== 'channel' && !c.role.endsWith('(made up)'));
  if (other.length > 0) lines.push(`other columns: ${other.map((c) => `${c.name} (${c.type}, ${c.role === 'pass' ? 'passed through' : c.role})`).join(', ')}`);
  // min and max are values of the file: written exactly (a millisecond timestamp's last digits
  // matter). mean and std with six significant digits, and for a mean far from zero next to its
  // spread (1000000 +- 0.4) as many more as keep four of the spread's: 999999.8629, not 1000000.
  const exact = (x: number | null) => (x === null ? '-' : s.dtype === 'float32' ? float32Text(x) : numberText(x));
  const shown = (x: number | null, digits = 6) => (x === null ? '-' : String(Number(x.toPrecision(Math.min(17, digits)))));
  const meanDigits = (mean: number | null, std: number | null) =>
    mean === null || std === null || std === 0 || mean === 0 ? 6 : Math.max(6, Math.ceil(Math.log10(Math.abs(mean) / std)) + 4);
  const rows = [
    ['channel', 'count', 'mean', 'std', 'min', 'max', 'missing'],
    ...s.perChannel.map((c) => [
      c.name,
      String(c.count),
      shown(c.mean, meanDigits(c.mean, c.std)),
      shown(c.std),
      exact(c.min),
      exact(c.max),
      String(c.missing) + (c.infinite ? ` (+${c.infinite} inf)` : ''),
    ]),
  ];
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
  for (const r of rows) lines.push(r.map((cell, k) => (k === 0 ? cell.padEnd(widths[k]!) : cell.padStart(widths[k]!))).join('  '));
  return lines.join('\n') + '\n';
}
