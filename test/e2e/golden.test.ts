import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir, tsnorm } from '../helpers/cli.js';

// The bytes tsnorm writes, pinned (fixtures/golden, made by its generate.mjs): number text,
// float32 rounding, layouts, stats files. Their values are checked against torch by other
// tests; these catch an optimisation (a faster parser or formatter, a split over workers) that
// changes any byte. Jobs run in order, as the generator ran them (apply uses fit's stats).

const GOLDEN = path.join(FIXTURES, 'golden');
const jobs = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'jobs.json'), 'utf8')) as string[][];
const tmp = tempDir();
afterAll(() => tmp.cleanup());
for (const input of ['input.csv', 'input-plain.csv']) fs.copyFileSync(path.join(GOLDEN, input), path.join(tmp.dir, input));
fs.copyFileSync(path.join(FIXTURES, 'example.npy'), path.join(tmp.dir, 'example.npy'));

function runAndCompare(job: readonly string[], extra: readonly string[] = []): void {
  const r = tsnorm([...job, '-q', ...extra], { cwd: tmp.dir });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = job[job.indexOf(job.includes('--save-stats') ? '--save-stats' : '-o') + 1]!;
  if (out === 'input.arrow') return; // an intermediate, read by the next job
  const got = fs.readFileSync(path.join(tmp.dir, out));
  const want = fs.readFileSync(path.join(GOLDEN, out));
  expect(got.length).toBe(want.length);
  expect(got.equals(want), `${out} differs from fixtures/golden/${out}`).toBe(true);
}

describe('outputs are byte for byte what they were', () => {
  it.each(jobs.map((job) => [job.join(' '), job] as const))('tsnorm %s', (_name, job) => {
    runAndCompare(job);
  });

  it('covers every golden file', () => {
    const outputs = jobs.map((job) => job[job.indexOf(job.includes('--save-stats') ? '--save-stats' : '-o') + 1]);
    const files = fs.readdirSync(GOLDEN).filter((f) => !['generate.mjs', 'jobs.json', 'input.csv', 'input-plain.csv'].includes(f));
    expect(files.sort()).toEqual(outputs.filter((o) => o !== 'input.arrow').sort());
  });
});

// Outputs under 4 MB are formatted in the main thread: --off-thread-after 0 hands every row to the
// formatting worker, which must write the same bytes. --threads 1 keeps everything in one thread.
describe('the same bytes with the CSV formatting worker from the first row, and with one thread', () => {
  const withOutput = jobs.filter((job) => job.includes('-o'));
  it.each(withOutput.map((job) => [job.join(' '), job] as const))('tsnorm %s --threads 2 --off-thread-after 0', (_name, job) => {
    runAndCompare(job, ['--threads', '2', '--off-thread-after', '0']);
  });
  it.each(withOutput.map((job) => [job.join(' '), job] as const))('tsnorm %s --threads 4 --off-thread-after 0 (three workers)', (_name, job) => {
    runAndCompare(job, ['--threads', '4', '--off-thread-after', '0']);
  });
  it.each(withOutput.map((job) => [job.join(' '), job] as const))('tsnorm %s --threads 1', (_name, job) => {
    runAndCompare(job, ['--threads', '1']);
  });
});
