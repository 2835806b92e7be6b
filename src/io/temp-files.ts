import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Temporary files this process made and has not yet renamed or removed. They are removed on
 * every way out: normal exit, error, SIGINT/SIGTERM/SIGHUP. A failed run leaves nothing behind.
 */
const live = new Set<string>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', removeAllTempFiles);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      removeAllTempFiles();
      process.kill(process.pid, sig);
    });
  }
}

export function removeAllTempFiles(): void {
  for (const p of live) {
    try { fs.unlinkSync(p); } catch { /* already gone */ }
  }
  live.clear();
}

/** A fresh path for a temporary file in `dir` (default: the system's temp dir), registered for cleanup. */
export function tempPath(dir: string = os.tmpdir(), hint = 'tsnorm'): string {
  hook();
  const p = path.join(dir, `.${hint}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  live.add(p);
  return p;
}

/** The file at `p` is no longer temporary (renamed into place) or was removed. */
export function forgetTempPath(p: string): void {
  live.delete(p);
}

export async function removeTempFile(p: string): Promise<void> {
  live.delete(p);
  await fs.promises.rm(p, { force: true });
}
