import { createRequire } from 'node:module';

/** A V8 flag that delays optimisation, and the value a job sets it to. */
export interface JitTuning {
  flag: string;
  value: number;
}

/**
 * The tuning for each V8 major version that has one; every other V8 runs as Node starts it.
 *
 * V8 11 (Node 20) decides when to optimise a function with TurboFan by an "interrupt budget" of
 * bytecode run (66 KB by default). A tsnorm job is short and made of batches: code called once a
 * batch or a column (apache-arrow's visitors and encoders, validation, record loops) used up
 * that budget within a few dozen batches, and TurboFan compiled dozens of functions in a short
 * Arrow job, on cores the job itself needed. With a budget 4.4 times larger (the best of 150000,
 * 300000 and 600000), code run a few hundred times stays with the baseline compiler and the
 * loops that carry the work are still optimised (npm run bench: Arrow -> Arrow and CSV normalize
 * ran faster).
 *
 * V8 12 and later (Node 22, 24, 26) have no such flag: setting it prints "unrecognized flag" on
 * stderr. They tier up by invocation counts, with Maglev between the baseline compiler and
 * TurboFan. Raising --invocation-count-for-turbofan 4.4 and 10 times made CSV normalize and
 * Arrow -> Arrow slower on each of them, so they get no tuning.
 *
 * V8 is told only flags it is known to have: a test checks each entry against `node
 * --v8-options` on every Node that CI runs.
 */
export const JIT_TUNING_BY_V8_MAJOR: Readonly<Record<number, JitTuning>> = {
  11: { flag: '--interrupt-budget', value: 300000 },
};

/** The tuning for a V8 version string such as process.versions.v8; undefined for none. */
export function jitTuningFor(v8Version: string): JitTuning | undefined {
  return JIT_TUNING_BY_V8_MAJOR[Number.parseInt(v8Version, 10)];
}

let tuned = false;

/**
 * Applies this V8's tuning, once, when a job starts and not at start-up: `--version` does not
 * load node:v8, and the bundle's code cache, checked against V8's flags when it loads,
 * was made with the defaults. apache-arrow's script is read later, by jobs only:
 * scripts/bundle.mjs makes its cache with the tuning applied.
 */
export function tuneJitForJobs(): void {
  if (tuned) return;
  tuned = true;
  const tuning = jitTuningFor(process.versions.v8);
  if (tuning) setV8Flag(tuning.flag, tuning.value);
}

/** Sets an integer V8 flag (scripts/bundle.mjs puts the default back before it makes the main code cache). */
export function setV8Flag(flag: string, value: number): void {
  (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString(`${flag}=${value}`);
}
