/**
 * Shared pieces of the big-file tests (`npm run test:big`): a scratch folder with its free space
 * checked, the built CLI run with its peak RSS measured, a deterministic PRNG, positional reads,
 * and an exact reference for one series' statistics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, ROOT } from '../helpers/cli.js';

export const GiB = 2 ** 30;
/** The peak RSS allowed to one run of the CLI: 200 MiB (200 * 1024 * 1024 bytes). */
export const RSS_LIMIT_BYTES = 200 * 1024 * 1024;
/** torch's default, which the runs below use. */
export const EPS = 1e-5;

const TIME = '/usr/bin/time';

/** A fresh folder under $TSNORM_BIG_DIR (or the OS temp folder); `cleanup` removes it. */
export function bigDir(name: string): { dir: string; cleanup: () => void } {
  const base = process.env.TSNORM_BIG_DIR || os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, `tsnorm-big-${name}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Fails (never skips) when the folder's file system has less than `bytes` free. */
export function requireFreeSpace(dir: string, bytes: number, what: string): void {
  const st = fs.statfsSync(dir);
  const free = st.bavail * st.bsize;
  if (free < bytes) {
    throw new Error(
      `not enough free disk space for ${what}: ${gb(bytes)} needed in ${dir}, ${gb(free)} free. ` +
        'Free some space or point TSNORM_BIG_DIR at a file system with more room.',
    );
  }
}

export function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export interface MeasuredRun {
  status: number | null;
  stderr: string;
  seconds: number;
  /** Peak resident set of the CLI process (ru_maxrss, or VmHWM polled when GNU time is missing). */
  peakRssBytes: number;
  /** How the peak was measured. */
  rssSource: string;
}

/** The children started here that have not ended, so that a timed-out test can end them. */
const running = new Set<ChildProcess>();

/** Ends the CLI runs this module started that are still going (by their own pid). */
export function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/**
 * Runs `node bin/tsnorm.js ARGS` and measures its peak RSS: with GNU time (`%M`, the process's
 * ru_maxrss in KiB) when /usr/bin/time exists, else by polling /proc/PID/status VmHWM (the high
 * water mark, so only growth in the last 50 ms before exit could be missed).
 */
export async function runMeasured(args: string[]): Promise<MeasuredRun> {
  const useTime = fs.existsSync(TIME);
  const rssFile = path.join(os.tmpdir(), `tsnorm-big-rss-${process.pid}-${Date.now()}.txt`);
  const command = useTime ? TIME : process.execPath;
  const argv = useTime ? ['-f', '%M', '-o', rssFile, process.execPath, BIN, ...args] : [BIN, ...args];
  const started = performance.now();
  const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    if (stderr.length < 64 * 1024) stderr += s;
  });
  let polled = 0;
  const poll = (): void => {
    if (child.pid === undefined) return;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) polled = Math.max(polled, Number(m[1]) * 1024);
    } catch {
      // The process has ended between two polls.
    }
  };
  const timer = useTime ? undefined : setInterval(poll, 50);
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
  });
  running.delete(child);
  if (timer) clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  let peakRssBytes = polled;
  if (useTime) {
    const text = fs.existsSync(rssFile) ? fs.readFileSync(rssFile, 'utf8') : '';
    fs.rmSync(rssFile, { force: true });
    // GNU time writes "Command exited with non-zero status N" first when it failed.
    const kib = Number(text.trim().split('\n').at(-1));
    if (!Number.isFinite(kib) || kib <= 0) throw new Error(`cannot read the peak RSS from ${TIME}: ${JSON.stringify(text)}`);
    peakRssBytes = kib * 1024;
  }
  return { status, stderr, seconds, peakRssBytes, rssSource: useTime ? `${TIME} %M` : '/proc/PID/status VmHWM' };
}

/** Deterministic 32-bit words (xorshift32) for the generators' slow paths (per instance choices). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (this.s = s);
  }
  /** [0, 1) */
  uniform(): number {
    return this.next() / 2 ** 32;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

/** Writes through one big buffer with `writeSync`: the generators never hold more than it. */
export class ChunkWriter {
  readonly fd: number;
  written = 0;
  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
  }
  write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
    this.written += bytes.length;
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

/** `length` bytes of a file from byte `position` (which may be beyond 4 GiB). */
export function readAt(file: string, position: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, buf, got, length - got, position + got);
      if (n === 0) throw new Error(`${file}: ends before byte ${position + length} (read ${got} of ${length} bytes at ${position})`);
      got += n;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Mean and biased variance of one series, in float64, with Neumaier-compensated sums and a
 * corrected second pass: exact to a few ulps, independent of how tsnorm computes them.
 */
export function seriesMoments(xs: ArrayLike<number>): { mean: number; variance: number } {
  const count = xs.length;
  let sum = 0;
  let comp = 0;
  for (let i = 0; i < count; i++) {
    const x = xs[i]!;
    const t = sum + x;
    comp += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
    sum = t;
  }
  const m0 = (sum + comp) / count;
  let d1 = 0;
  let c1 = 0;
  let d2 = 0;
  let c2 = 0;
  for (let i = 0; i < count; i++) {
    const d = xs[i]! - m0;
    let t = d1 + d;
    c1 += Math.abs(d1) >= Math.abs(d) ? d1 - t + d : d - t + d1;
    d1 = t;
    const q = d * d;
    t = d2 + q;
    c2 += d2 >= q ? d2 - t + q : q - t + d2;
    d2 = t;
  }
  const s1 = d1 + c1;
  const s2 = d2 + c2;
  return { mean: m0 + s1 / count, variance: Math.max(0, (s2 - (s1 * s1) / count) / count) };
}

/**
 * Which of `n` instances to check: the first and the last, the given ones (those at interesting
 * byte offsets), and evenly spread others, about `count` in all, ascending.
 */
export function sampleInstances(n: number, count: number, include: number[]): number[] {
  const picked = new Set<number>([0, n - 1, ...include.filter((i) => i >= 0 && i < n)]);
  for (let k = 1; picked.size < Math.min(count, n) && k < count; k++) picked.add(Math.round((k * (n - 1)) / (count - 1)));
  return [...picked].sort((a, b) => a - b);
}

/** The distance between a float32 value and the next one away from zero. */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** By biased exponent (a table: `2 ** e` with a variable e is slow in V8). */
const ULP32 = Float64Array.from({ length: 256 }, (_, e) => (e === 0 ? 2 ** -149 : 2 ** (e - 150)));
export function ulp32(x: number): number {
  f32[0] = x;
  return ULP32[(u32[0]! >>> 23) & 0xff]!;
}

/** Logs one line of the run's figures (vitest shows it with the test's output). */
export function report(line: string): void {
  process.stdout.write(`[test:big] ${line}\n`);
}

export async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - t0) / 1000 };
}
