import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/tsnorm.js');
export const FIXTURES = path.join(ROOT, 'fixtures');

export interface CliResult {
  pid: number;
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the built CLI as a user would: `node bin/tsnorm.js ARGS`, with optional bytes on stdin. */
export function tsnorm(args: string[], options: { input?: Buffer | string; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: options.input ?? '',
    cwd: options.cwd ?? ROOT,
    maxBuffer: 1 << 30,
  });
  return { pid: r.pid ?? 0, status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

/** The same, with stdin redirected from a file (a seekable stdin, as `tsnorm - < file`). */
export function tsnormWithStdinFile(args: string[], stdinFile: string): CliResult {
  const fd = fs.openSync(stdinFile, 'r');
  try {
    const r = spawnSync(process.execPath, [BIN, ...args], { stdio: [fd, 'pipe', 'pipe'], maxBuffer: 1 << 30 });
    return { pid: r.pid ?? 0, status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Starts the CLI without waiting, for streaming tests. A run that ends (killed, or done early)
 * while bytes written to its stdin are still queued makes those writes fail with EPIPE: expected
 * here, and an unhandled 'error' event would fail whichever test runs then. What the run did is
 * checked from its exit and its outputs.
 */
export function startTsnorm(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  return child;
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnorm-test-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** An error message is one line naming something, not a stack trace. */
export function isOneLineError(stderr: string): boolean {
  const lines = stderr.trim().split('\n');
  return lines.length === 1 && lines[0]!.startsWith('tsnorm: ') && !/\n\s+at .+:\d+:\d+/.test(stderr);
}
