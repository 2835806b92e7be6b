import { channelStart } from '../core/block.js';
import { ChannelMoments } from '../core/moments.js';
import type { LoadedParams } from '../core/state-dict.js';
import { openReader } from '../formats/registry.js';
import { causeOfFailure, checkInputsUnchanged } from '../io/byte-source.js';
import type { ReadMeter } from '../io/read-meter.js';
import type { DataBlock } from '../formats/types.js';
import { type ReadingPlan, refuseFlagsFor } from './plan.js';

/** The limits `tsnorm check` holds data to (each with its flag). */
export interface CheckLimits {
  /** --allow-nan: missing and infinite values are fine. */
  readonly allowNaN: boolean;
  /** --allow-constant: a flat channel (std 0: a stuck sensor) is fine. */
  readonly allowConstant: boolean;
  /** --min-length: fewest steps an instance may have. */
  readonly minLength: number;
  /** --max-z: how many running standard deviations an instance's channel mean may be from the running mean. */
  readonly maxZ: number;
  /** --max-std-ratio: an instance's channel std must lie within [running std / R, running std * R]. */
  readonly maxStdRatio: number;
}

export const DEFAULT_LIMITS: CheckLimits = { allowNaN: false, allowConstant: false, minLength: 2, maxZ: 6, maxStdRatio: 10 };

export type ProblemKind = 'schema' | 'missing' | 'constant' | 'length' | 'drift-mean' | 'drift-std';

export interface Problem {
  readonly kind: ProblemKind;
  readonly file: string;
  readonly instance?: number | undefined;
  /** How the input names the instance (its id, when it has one). */
  readonly instanceName?: string | undefined;
  readonly channel?: string | undefined;
  /** Where: "line 12, column 'ax'", "byte 4096", "row 17". */
  readonly at?: string | undefined;
  readonly message: string;
}

export interface CheckReport {
  readonly files: readonly string[];
  readonly instances: number;
  readonly problems: readonly Problem[];
  /** Problems of each kind, all counted (the list keeps the first ones). */
  readonly counts: Readonly<Record<ProblemKind, number>>;
  readonly limits: CheckLimits;
}

/** Problems listed in full (the counts cover them all). */
const LISTED = 100;

/**
 * Checks inputs against a fitted reference, streaming, one pass and flat memory: per instance
 * and channel, missing or infinite values, flat channels, length, and drift of the mean and of
 * the spread from the running statistics.
 */
export async function checkInputs(
  files: readonly string[],
  stats: LoadedParams,
  limits: CheckLimits,
  options: ReadingPlan,
  meter?: ReadMeter,
): Promise<CheckReport> {
  const problems: Problem[] = [];
  const counts: Record<ProblemKind, number> = { schema: 0, missing: 0, constant: 0, length: 0, 'drift-mean': 0, 'drift-std': 0 };
  const report = (p: Problem): void => {
    counts[p.kind]++;
    if (problems.length < LISTED) problems.push(p);
  };
  const runningMean = stats.runningMean ?? [];
  const runningStd = (stats.runningVar ?? []).map((v) => Math.sqrt(v));
  let instances = 0;
  for (const file of files) {
    const { reader, format } = await openReader(file, { format: options.format, budget: options.budget, table: options.table, live: true, meter });
    try {
      refuseFlagsFor(options.formatFlags, 'input', reader.name, format);
      const { schema } = reader;
      const C = schema.channels;
      const names = schema.channelNames ?? Array.from({ length: C }, (_, c) => `c${c}`);
      if (C !== runningMean.length) {
        report({ kind: 'schema', file: reader.name, message: `${C} channels, the stats file has ${runningMean.length}` });
        continue;
      }
      if (stats.channels && schema.channelNames && stats.channels.join('\u0000') !== schema.channelNames.join('\u0000')) {
        report({ kind: 'schema', file: reader.name, message: `channels [${schema.channelNames.join(', ')}], the stats file's are [${stats.channels.join(', ')}]` });
        continue;
      }
      const moments = new ChannelMoments(C);
      const bad = new Float64Array(C);
      /** Where each channel's first missing value is, and where the instance begins. */
      const firstBad: (string | undefined)[] = new Array<string | undefined>(C);
      let start: string | undefined;
      let current = -1;
      let steps = 0;
      const name = (i: number) => schema.describeInstance?.(i) ?? `instance ${i}`;
      const finish = (): void => {
        if (current < 0) return;
        instances++;
        const where = { file: reader.name, instance: current, instanceName: name(current), at: start };
        if (steps < limits.minLength) report({ kind: 'length', ...where, message: `${steps} step${steps === 1 ? '' : 's'}, fewer than ${limits.minLength} (--min-length)` });
        for (let c = 0; c < C; c++) {
          const channel = names[c]!;
          if (bad[c]! > 0 && !limits.allowNaN) {
            report({ kind: 'missing', ...where, channel, at: firstBad[c], message: `${bad[c]} missing or infinite value${bad[c] === 1 ? '' : 's'} (--allow-nan to accept)` });
          }
          const n = moments.count[c]!;
          if (n < 2) continue;
          const mean = moments.mean(c);
          const std = moments.std(c);
          if (std === 0) {
            if (!limits.allowConstant) report({ kind: 'constant', ...where, channel, message: `flat: every value is ${mean} (a stuck sensor? --allow-constant to accept)` });
            continue;
          }
          const z = Math.abs(mean - runningMean[c]!) / runningStd[c]!;
          if (z > limits.maxZ) report({ kind: 'drift-mean', ...where, channel, message: `mean ${fmt(mean)} is ${fmt(z)} running standard deviations from the running mean ${fmt(runningMean[c]!)} (--max-z ${limits.maxZ})` });
          const ratio = std / runningStd[c]!;
          if (ratio > limits.maxStdRatio || ratio < 1 / limits.maxStdRatio) {
            report({ kind: 'drift-std', ...where, channel, message: `std ${fmt(std)} is ${fmt(ratio)} times the running std ${fmt(runningStd[c]!)} (--max-std-ratio ${limits.maxStdRatio})` });
          }
        }
      };
      const finite = new Float64Array(1024);
      const see = (b: DataBlock): void => {
        if (b.instance !== current) {
          finish();
          current = b.instance;
          steps = 0;
          moments.reset();
          bad.fill(0);
          firstBad.fill(undefined);
          start = reader.locate(b, b.firstChannel, b.firstStep);
        }
        if (b.firstChannel === 0) steps += b.stepCount;
        for (let c = b.firstChannel; c < b.firstChannel + b.channelCount; c++) {
          const from = channelStart(b, c);
          let n = 0;
          for (let t = 0; t < b.stepCount; t++) {
            const x = b.values[from + t * b.stepStride]!;
            if (x !== x || x === Infinity || x === -Infinity) {
              if (bad[c] === 0) firstBad[c] = reader.locate(b, c, b.firstStep + t);
              bad[c]!++;
              continue;
            }
            finite[n++] = x;
            if (n === finite.length) { moments.add(c, finite, 0, n, 1); n = 0; }
          }
          if (n > 0) moments.add(c, finite, 0, n, 1);
        }
      };
      for await (const group of reader.blocks()) for (const b of group) see(b);
      finish();
      checkInputsUnchanged();
    } catch (err) {
      throw causeOfFailure(err);
    } finally {
      await reader.close();
    }
  }
  return { files, instances, problems, counts, limits };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}

const KIND_NAMES: Record<ProblemKind, string> = {
  schema: 'schema', missing: 'missing or infinite values', constant: 'flat channels', length: 'too short',
  'drift-mean': 'mean drift', 'drift-std': 'spread drift',
};

function where(p: Problem): string {
  return [p.file, p.instanceName, p.channel === undefined ? undefined : `channel '${p.channel}'`, p.at].filter((x) => x !== undefined).join(', ');
}

/** The report for a person: the first problems, one a line, then the count of each kind. */
export function textReport(r: CheckReport): string {
  const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
  const lines = r.problems.map((p) => `${where(p)}: ${p.message}`);
  if (total > r.problems.length) lines.push(`... and ${total - r.problems.length} more`);
  const summary = (Object.keys(r.counts) as ProblemKind[]).filter((k) => r.counts[k] > 0).map((k) => `${r.counts[k]} ${KIND_NAMES[k]}`);
  lines.push(total === 0
    ? `ok: ${r.instances} instance${r.instances === 1 ? '' : 's'} in ${r.files.length} file${r.files.length === 1 ? '' : 's'}, no problem`
    : `${total} problem${total === 1 ? '' : 's'} in ${r.instances} instance${r.instances === 1 ? '' : 's'}: ${summary.join(', ')}`);
  return lines.join('\n') + '\n';
}

export function jsonReport(r: CheckReport): string {
  return JSON.stringify({ ok: Object.values(r.counts).every((n) => n === 0), instances: r.instances, files: r.files, counts: r.counts, limits: r.limits, problems: r.problems }, null, 2) + '\n';
}

const xml = (s: string): string => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** The listed problems of one input (stdin, `-`, is named <stdin> in problems). */
function problemsOf(r: CheckReport, file: string): Problem[] {
  return r.problems.filter((p) => p.file === file || (p.file === '<stdin>' && file === '-'));
}

/** JUnit XML: a test suite per file, a failing test case per problem (CI systems show them as test results). */
export function junitReport(r: CheckReport): string {
  const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
  // Problems past the listed ones are one more failing case, so that the counts add up.
  const unlisted = total - r.problems.length;
  const cases = r.files.reduce((n, f) => n + Math.max(1, problemsOf(r, f).length), 0) + (unlisted > 0 ? 1 : 0);
  const failures = r.problems.length + (unlisted > 0 ? 1 : 0);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="tsnorm check" tests="${cases}" failures="${failures}">`];
  for (const file of r.files) {
    const mine = problemsOf(r, file);
    out.push(`  <testsuite name="${xml(file)}" tests="${Math.max(1, mine.length)}" failures="${mine.length}">`);
    if (mine.length === 0) out.push(`    <testcase classname="tsnorm.check" name="${xml(file)}"/>`);
    for (const p of mine) {
      out.push(`    <testcase classname="tsnorm.check.${p.kind}" name="${xml(where(p))}">`);
      out.push(`      <failure type="${p.kind}" message="${xml(p.message)}">${xml(`${where(p)}: ${p.message}`)}</failure>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  if (unlisted > 0) {
    out.push('  <testsuite name="tsnorm check" tests="1" failures="1">');
    out.push(`    <testcase classname="tsnorm.check" name="more problems"><failure type="more" message="${unlisted} more problems, not listed (see the counts: tsnorm check --format json)"/></testcase>`);
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

/** GitHub Actions workflow commands: an error annotation per problem (with the line when there is one). */
export function githubReport(r: CheckReport): string {
  const escape = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const prop = (s: string) => escape(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const lines = r.problems.map((p) => {
    const line = /line (\d+)/.exec(p.at ?? '')?.[1];
    return `::error file=${prop(p.file)}${line ? `,line=${line}` : ''},title=${prop(`tsnorm check: ${KIND_NAMES[p.kind]}`)}::${escape(`${where(p)}: ${p.message}`)}`;
  });
  lines.push(textReport(r).trim().split('\n').pop()!);
  return lines.join('\n') + '\n';
}
