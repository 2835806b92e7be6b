// The CSV formatting worker (bundled as dist/bundle/csv-format-worker.cjs): rows and their new
// values in, the rewritten rows' bytes out, in the order given. It runs beside the thread that
// reads, parses and normalizes, so that the two halves of a CSV job use two cores. Every buffer
// of a job is moved here and back (not copied), and reused by the writer's BufferPool.
import { parentPort, workerData } from 'node:worker_threads';
import { classBytes, sizeClass } from '../../io/buffer-pool.js';
import { numberFormatter } from './numbers.js';
import { type PackedRows, RowBytes } from './row-bytes.js';
import { type RowLayout, rewriteRows } from './row-rewrite.js';

export interface FormatWorkerData {
  /** Says that this worker is ours (the module is also loaded by the writer, in its own thread). */
  readonly role: 'tsnorm-csv-format';
  readonly layout: RowLayout;
  readonly precision: number | undefined;
}

/** Rows to rewrite, each array a view on a buffer of its own (they are moved); `out` to write the result into. */
export interface FormatJob extends PackedRows {
  readonly out: ArrayBuffer;
}

/** The rows' bytes (out[0, length)), and the job's buffers, given back. */
export interface FormatResult {
  readonly out: ArrayBuffer;
  readonly length: number;
  readonly buffers: readonly ArrayBuffer[];
}

/** The buffers of a job, to move with it. */
export function jobBuffers(job: FormatJob): ArrayBuffer[] {
  return [job.bytes.buffer as ArrayBuffer, job.records.buffer as ArrayBuffer, job.spans.buffer as ArrayBuffer, job.values.buffer as ArrayBuffer];
}

if (parentPort && (workerData as Partial<FormatWorkerData> | null)?.role === 'tsnorm-csv-format') {
  const port = parentPort;
  const { layout, precision } = workerData as FormatWorkerData;
  const out = new RowBytes(precision === undefined ? undefined : numberFormatter(precision));
  port.on('message', (job: FormatJob) => {
    if (precision === undefined) out.rows(job, layout);
    else
      rewriteRows(
        out,
        {
          ...job,
          records: job.records.map((x) => x - job.origin),
          spans: job.spans.map((x) => x - job.origin),
          first: 0,
          offset: 0,
          rowStride: job.cells,
          cellStride: 1,
        },
        layout,
      );
    const view = out.view();
    // The rows may be longer than the buffer given: a larger one then (of a pool class: it is reused).
    const dest = job.out.byteLength >= view.length ? job.out : new ArrayBuffer(classBytes(sizeClass(view.length)));
    new Uint8Array(dest, 0, view.length).set(view);
    const result: FormatResult = { out: dest, length: view.length, buffers: jobBuffers(job) };
    out.clear();
    port.postMessage(result, [dest, ...result.buffers]);
  });
}
