import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TsnormError, systemErrorText } from '../errors.js';
import { ownerTag, removeStaleTemps, thisOwner } from './stale-temps.js';

/**
 * Temporary files this process made and has not yet renamed or removed. They are removed on
 * every way out: normal exit, error, SIGINT/SIGTERM/SIGHUP. A failed run leaves nothing behind.
 *
 * Two kinds: scratch files (spills, spools, transposed copies) live in one private folder made
 * with mkdtemp in $TMPDIR, so no other user can guess or pre-create their names; an output's
 * temporary file lives beside the output (it is renamed over it) under a name of its own length,
 * so that any output name the filesystem accepts still leaves room for it. Both names say which
 * process made them: what a run killed with SIGKILL left, the next run that writes there removes
 * (io/stale-temps.ts).
 */
const live = new Set<string>();
/** Folders where this run already removed what killed runs left (io/stale-temps.ts). */
const cleanedFolders = new Set<string>();
let scratchDir: string | undefined;
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
    try {
      fs.unlinkSync(p);
    } catch {
      /* already gone */
    }
  }
  live.clear();
  if (scratchDir !== undefined) {
    try {
      fs.rmSync(scratchDir, { recursive: true, force: true });
    } catch {
      /* best effort on the way out */
    }
    scratchDir = undefined;
  }
}

/**
 * A short random name part: 12 characters of [a-z0-9]. Not node:crypto's (loading it took ~5 ms
 * of every start-up): the files are created with O_EXCL (another name is tried if one exists),
 * so a guessed name gains nothing; the name only has to be unlikely to be taken.
 */
function randomPart(): string {
  let s = '';
  while (s.length < 12) s += Math.floor(Math.random() * 2 ** 52).toString(36);
  return s.slice(0, 12);
}

/** What $TMPDIR resolves to, for messages. */
function tmpdirName(): string {
  return process.env['TMPDIR'] ? `${os.tmpdir()} ($TMPDIR)` : os.tmpdir();
}

/** A failure of a scratch file (creating, writing, reading) as a one-line error that says what to do. */
export function scratchError(err: unknown): TsnormError {
  if (err instanceof TsnormError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  // Of the folder rather than a file: what $TMPDIR itself is.
  const why: Record<string, string> = {
    ENOENT: 'the folder does not exist',
    ENOTDIR: 'it is not a folder',
  };
  const what = (code && why[code]) ?? systemErrorText(err);
  return new TsnormError(`temporary file in ${tmpdirName()}: ${what} (set TMPDIR to a writable folder with room for the data)`, 'TSNORM_IO');
}

/** A read or write of a scratch file; its failure (a full $TMPDIR, say) as a clear error. */
export function scratchIo<T>(op: () => T): T {
  try {
    return op();
  } catch (err) {
    throw scratchError(err);
  }
}

/**
 * Writes all of data[offset, offset + length) to a scratch file at `position` (null: the
 * current position). writeSync may write less than asked when the disk fills up (it fails only
 * on the next call): the rest is written until it is done or fails, so a short write can never
 * pass unnoticed and leave a file shorter than what was counted.
 */
export function writeScratch(fd: number, data: Uint8Array, offset: number, length: number, position: number | null): void {
  scratchIo(() => {
    for (let done = 0; done < length; ) {
      const n = fs.writeSync(fd, data, offset + done, length - done, position === null ? null : position + done);
      if (n <= 0) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      done += n;
    }
  });
}

/**
 * A new, empty scratch file in the private folder, opened for reading and writing. `purpose`
 * only shapes the name. Fails with a clear error when $TMPDIR is missing, read-only or full.
 */
export function createScratchFile(purpose: string): { path: string; fd: number } {
  hook();
  try {
    if (scratchDir === undefined) {
      const owner = thisOwner();
      removeStaleTemps(os.tmpdir(), 'scratch');
      scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), owner ? `tsnorm-${ownerTag(owner)}.` : 'tsnorm-'));
    }
    const p = path.join(scratchDir, `${purpose}-${randomPart()}`);
    const fd = fs.openSync(p, 'wx+', 0o600);
    live.add(p);
    return { path: p, fd };
  } catch (err) {
    throw scratchError(err);
  }
}

/**
 * A new temporary file beside `target` (same folder, so that it can be renamed over it),
 * created exclusively with `mode`. Errors are the caller's to word (they concern the output).
 */
export function createSiblingTempFile(target: string, mode: number): { path: string; fd: number } {
  hook();
  const dir = path.dirname(target);
  const owner = thisOwner();
  if (!cleanedFolders.has(dir)) {
    cleanedFolders.add(dir);
    removeStaleTemps(dir, 'sibling');
  }
  for (let attempt = 0; ; attempt++) {
    const p = path.join(dir, owner ? `.tsnorm-${ownerTag(owner)}.${randomPart().slice(0, 8)}.tmp` : `.tsnorm-${randomPart()}.tmp`);
    try {
      const fd = fs.openSync(p, 'wx', mode);
      live.add(p);
      return { path: p, fd };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) throw err;
    }
  }
}

/** The file at `p` is no longer temporary (renamed into place) or was removed. */
export function forgetTempPath(p: string): void {
  live.delete(p);
}

export async function removeTempFile(p: string): Promise<void> {
  live.delete(p);
  await fs.promises.rm(p, { force: true });
}

/** Closes a temporary file's descriptor (if still open) and removes the file. */
export async function discardTempFile(file: { path: string; fd: number }): Promise<void> {
  try {
    fs.closeSync(file.fd);
  } catch {
    /* closed already */
  }
  await removeTempFile(file.path);
}
