import { createRequire } from 'node:module';

/** tsnorm's interrupt budget: 4.4 times V8's 67584 in Node 20 (the best of 150000, 300000 and 600000 measured). */
export const INTERRUPT_BUDGET = 300000;

let tuned = false;

/**
 * V8 optimises a function with TurboFan once it has run a budget of bytecode (the "interrupt
 * budget", 66 KB by default). A tsnorm job is short and made of batches: code called once a batch
 * or a column (apache-arrow's visitors and encoders, validation, record loops) used up that budget
 * within a few dozen batches, and TurboFan compiled 74 functions (~270 ms of CPU) during a 0.35 s
 * Arrow job, on cores the job itself needed. With a budget 4.4 times larger, code run a few
 * hundred times stays with the baseline compiler and the loops that carry the work are still
 * optimised. Medians of 7 interleaved runs on the bench's data (2 cores): Arrow -> Arrow 0.36 ->
 * 0.28 s, CSV normalize 0.82 -> 0.72 s, CSV apply 0.74 -> 0.70 s, NPY within noise.
 *
 * Set when a job starts, not at start-up: `--version` does not load node:v8 (~1.7 ms), and the
 * bundle's code cache, checked against V8's flags when it loads, was made with the default.
 * apache-arrow's script is read later, by jobs only: scripts/bundle.mjs makes its cache with this
 * flag set.
 */
export function tuneJitForJobs(): void {
  if (tuned) return;
  tuned = true;
  setInterruptBudget(INTERRUPT_BUDGET);
}

/** Sets V8's interrupt budget (scripts/bundle.mjs puts the default back before it makes the main code cache). */
export function setInterruptBudget(bytes: number): void {
  (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString(`--interrupt-budget=${bytes}`);
}
