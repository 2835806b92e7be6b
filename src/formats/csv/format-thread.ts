import { Worker } from 'node:worker_threads';
import type { WorkerScript } from '../../io/worker-script.js';
import { type FormatJob, type FormatResult, type FormatWorkerData, jobBuffers } from './format-worker.js';
import type { RowLayout } from './row-rewrite.js';

/**
 * The formatting worker seen from the writer: jobs go in with their buffers moved (the caller
 * no longer uses them), results come back in the same order with those buffers.
 */
export class FormatThread {
  private readonly worker: Worker;
  private readonly waiting: { resolve(result: FormatResult): void; reject(err: Error): void }[] = [];
  private failure: Error | undefined;

  constructor(script: WorkerScript, layout: RowLayout, precision: number | undefined) {
    const workerData: FormatWorkerData = { role: 'tsnorm-csv-format', layout, precision };
    this.worker = 'code' in script ? new Worker(script.code, { eval: true, workerData }) : new Worker(script.file, { workerData });
    // Referenced only while answers are awaited: an idle worker never keeps the process alive.
    this.worker.unref();
    this.worker.on('message', (result: FormatResult) => {
      this.waiting.shift()?.resolve(result);
      if (this.waiting.length === 0) this.worker.unref();
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the formatting worker stopped (exit ${code})`)));
  }

  /** Jobs given and not yet answered. */
  get pending(): number {
    return this.waiting.length;
  }

  format(job: FormatJob): Promise<FormatResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) this.worker.ref();
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(job, [job.out, ...jobBuffers(job)]);
    });
  }

  /**
   * Stops the worker, without waiting for it: a worker being terminated is no longer an active
   * handle, so awaiting terminate() could leave nothing to keep the process alive, and Node
   * exited (with status 0, the run unfinished) before the promise resolved.
   */
  close(): void {
    this.worker.removeAllListeners('exit');
    void this.worker.terminate();
  }

  private fail(err: Error): void {
    // The worker ran out of memory, or its script is broken: an internal error (exit 70).
    this.failure ??= new Error(`CSV formatting worker: ${err.message}`);
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}

/** Several formatting workers: each job goes to the one with the fewest waiting; answers stay in order per job. */
export class FormatThreads {
  private readonly workers: FormatThread[];

  constructor(script: WorkerScript, layout: RowLayout, precision: number | undefined, count: number) {
    this.workers = Array.from({ length: count }, () => new FormatThread(script, layout, precision));
  }

  get pending(): number {
    return this.workers.reduce((n, w) => n + w.pending, 0);
  }

  format(job: FormatJob): Promise<FormatResult> {
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.pending < best.pending) best = w;
    return best.format(job);
  }

  close(): void {
    for (const w of this.workers) w.close();
  }
}
