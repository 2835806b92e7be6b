import fs from 'node:fs';
import path from 'node:path';
import { TsnormError } from '../errors.js';
import { ioError } from './byte-source.js';
import { createSiblingTempFile, forgetTempPath, removeTempFile } from './temp-files.js';
import { isTerminal } from './terminal.js';

/**
 * Where output bytes go. A regular file is written to a temporary file beside it and renamed into
 * place by `commit`, so a failed run never leaves a half-written file and never clobbers its input
 * (even when the output path is the input path). stdout, devices and FIFOs are written as it goes.
 */
export interface ByteSink {
  readonly name: string;
  /** Whether the bytes go to a terminal (binary output there is refused). */
  readonly isTerminal?: boolean;
  /** Resolves when `data` may be reused by the caller. */
  write(data: Uint8Array): Promise<void>;
  /**
   * Writes the parts in order, as one write would write them joined (one system call where the
   * sink is a descriptor: no copy to join them). Resolves when all may be reused.
   */
  writev?(parts: readonly Uint8Array[]): Promise<void>;
  /** Writes at a byte position (files only: patching a header written before the size was known). */
  writeAt?(data: Uint8Array, position: number): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** stdout was closed by the reader (`| head`): the program ends quietly. */
export class ClosedOutputError extends Error {
  constructor() {
    super('output closed');
    this.name = 'ClosedOutputError';
  }
}

/** Where an output path's bytes go: a regular file replaced atomically, or straight into something else. */
export type OutputTarget =
  /** Write a temporary file beside `path` and rename it over `path` (a symbolic link's target, resolved). */
  | { readonly kind: 'replace'; readonly path: string; readonly mode: number; readonly uid?: number; readonly gid?: number }
  /** A device, a FIFO, a socket: opened and written as it goes, never replaced. */
  | { readonly kind: 'direct'; readonly path: string };

/** The descriptor a path names when it is one of the process's own: `-` (1), /dev/stdout, /dev/fd/N, /proc/self/fd/N. */
export function ownDescriptor(file: string): number | undefined {
  if (file === '-') return 1;
  const own = /^\/(?:dev\/(?:(stdin)|(stdout)|(stderr)|fd\/(\d+))|proc\/self\/fd\/(\d+))$/.exec(file);
  if (!own) return undefined;
  return own[1] ? 0 : own[2] ? 1 : own[3] ? 2 : Number(own[4] ?? own[5]);
}

/** Decides how `file` is written, without changing anything. Errors say what is wrong with the path. */
export function outputTarget(file: string): OutputTarget {
  if (file === '') throw new TsnormError('an empty output file name', 'TSNORM_IO');
  try {
    const st = statIfExists(file);
    if (st === undefined) {
      // Nothing there, or a symbolic link to nothing: the file is created (at the link's target).
      const real = danglingTarget(file);
      checkFolder(file, real);
      return { kind: 'replace', path: real, mode: 0o666 };
    }
    if (st.isDirectory()) throw new TsnormError(`${file}: is a directory, expected an output file`, 'TSNORM_IO');
    if (!st.isFile()) return { kind: 'direct', path: file };
    return { kind: 'replace', path: fs.realpathSync(file), mode: st.mode & 0o777, uid: st.uid, gid: st.gid };
  } catch (err) {
    throw ioError(file, err);
  }
}

/**
 * A path's stat, or undefined when nothing is there (ENOENT). Any other failure is thrown:
 * `throwIfNoEntry: false` also swallows ENOTDIR (a file where a folder should be) on Node 22 and
 * later but not on 20, and the same path must give the same message on every Node.
 */
export function statIfExists(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Where a path that does not exist would be created: itself, or the end of its chain of links. */
export function danglingTarget(file: string): string {
  let p = path.resolve(file);
  for (let hops = 0; hops < 40; hops++) {
    let link: string;
    try {
      link = fs.readlinkSync(p);
    } catch {
      return p; // not a link (or not there): this is the path
    }
    p = path.resolve(path.dirname(p), link);
  }
  throw new TsnormError(`${file}: too many levels of symbolic links`, 'TSNORM_IO');
}

function checkFolder(file: string, real: string): void {
  const dir = path.dirname(real);
  let st: fs.Stats | undefined;
  try {
    st = statIfExists(dir);
  } catch {
    st = undefined; // ENOTDIR higher up: the folder does not exist either
  }
  if (st === undefined) throw new TsnormError(`${file}: the folder ${dir} does not exist (create it first)`, 'TSNORM_IO');
  if (!st.isDirectory()) throw new TsnormError(`${file}: ${dir} is not a folder`, 'TSNORM_IO');
}

/** A regular file written to a temporary file beside it, renamed into place by commit. */
class ReplacingFileSink implements ByteSink {
  private position = 0;
  private done = false;

  private constructor(
    readonly name: string,
    private readonly target: string,
    private readonly temp: string,
    private readonly fd: number,
  ) {}

  static create(file: string, target: Extract<OutputTarget, { kind: 'replace' }>): ReplacingFileSink {
    try {
      const temp = createSiblingTempFile(target.path, target.mode);
      // The new file keeps the old one's owner where the process may give it (root rewriting a user's file).
      if (target.uid !== undefined && target.gid !== undefined && (target.uid !== process.getuid?.() || target.gid !== process.getgid?.())) {
        try {
          fs.fchownSync(temp.fd, target.uid, target.gid);
        } catch {
          /* not permitted: the writer's own */
        }
      }
      return new ReplacingFileSink(file, target.path, temp.path, temp.fd);
    } catch (err) {
      throw ioError(file, err);
    }
  }

  write(data: Uint8Array): Promise<void> {
    const at = this.position;
    this.position += data.length;
    return this.writeAt(data, at);
  }

  writeAt(data: Uint8Array, position: number): Promise<void> {
    return writevAllAt(this.fd, [data], position, this.name);
  }

  writev(parts: readonly Uint8Array[]): Promise<void> {
    const at = this.position;
    for (const p of parts) this.position += p.length;
    return writevAllAt(this.fd, parts, at, this.name);
  }

  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      fs.closeSync(this.fd);
      fs.renameSync(this.temp, this.target);
      forgetTempPath(this.temp);
    } catch (err) {
      await removeTempFile(this.temp);
      throw ioError(this.name, err);
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* closed already */
    }
    await removeTempFile(this.temp);
  }
}

/**
 * Something that is not a regular file (a device, a FIFO, /dev/stdout): written straight, in
 * order. It cannot be replaced or taken back, so it is never renamed over or removed.
 */
class DirectSink implements ByteSink {
  private done = false;
  readonly isTerminal: boolean;

  constructor(
    readonly name: string,
    private readonly fd: number,
    private readonly ownsFd = true,
  ) {
    this.isTerminal = isTerminal(fd);
  }

  static async create(file: string): Promise<DirectSink> {
    try {
      // Asynchronous: opening a FIFO waits for its reader, and must not block the process meanwhile.
      const fd = await new Promise<number>((resolve, reject) => fs.open(file, 'w', (err, f) => (err ? reject(err) : resolve(f))));
      return new DirectSink(file, fd);
    } catch (err) {
      throw ioError(file, err);
    }
  }

  write(data: Uint8Array): Promise<void> {
    return writevAllAt(this.fd, [data], null, this.name);
  }

  writev(parts: readonly Uint8Array[]): Promise<void> {
    return writevAllAt(this.fd, parts, null, this.name);
  }

  async commit(): Promise<void> {
    this.close();
  }

  async abort(): Promise<void> {
    this.close();
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    if (!this.ownsFd) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* closed already */
    }
  }
}

/** At most this many parts a call (Linux's IOV_MAX is 1024). */
const WRITEV_PARTS = 1024;

/**
 * Writes all of `parts`, in order, at `position` (null: the current position), however many calls
 * it takes (one part for a plain write). A write of nothing is a full disk; EPIPE, a closed reader.
 */
function writevAllAt(fd: number, parts: readonly Uint8Array[], position: number | null, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (rest: readonly Uint8Array[], at: number | null): void => {
      const pending = rest.filter((p) => p.length > 0);
      if (pending.length === 0) {
        resolve();
        return;
      }
      const batch = pending.slice(0, WRITEV_PARTS);
      const cb = (err: NodeJS.ErrnoException | null, n: number): void => {
        if (err) {
          reject(err.code === 'EPIPE' ? new ClosedOutputError() : ioError(name, err));
          return;
        }
        if (n <= 0) {
          reject(ioError(name, Object.assign(new Error('nothing written'), { code: 'ENOSPC' })));
          return;
        }
        step(partsAfter(pending, n), at === null ? null : at + n);
      };
      if (at === null) fs.writev(fd, batch, cb);
      else fs.writev(fd, batch, at, cb);
    };
    step(parts, position);
  });
}

/** What is left of `parts` after the first `n` bytes were written: the first part left cut where the write stopped. */
export function partsAfter(parts: readonly Uint8Array[], n: number): Uint8Array[] {
  let left = n;
  let i = 0;
  while (i < parts.length && left >= parts[i]!.length) left -= parts[i++]!.length;
  return i < parts.length ? [parts[i]!.subarray(left), ...parts.slice(i + 1)] : [];
}

class StdoutSink implements ByteSink {
  readonly name = '<stdout>';
  readonly isTerminal = Boolean(process.stdout.isTTY);
  private closed = false;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
    });
  }

  write(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedOutputError());
    return new Promise((resolve, reject) => {
      this.out.write(data, (err) => {
        if (!err) return resolve();
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') return reject(new ClosedOutputError());
        reject(ioError(this.name, err));
      });
    });
  }

  async commit(): Promise<void> {}
  async abort(): Promise<void> {}
}

/**
 * Opens an output: `-` is stdout; a regular file (or a new one) is written atomically, through
 * symbolic links; anything else (a device, a FIFO) is written straight, never replaced.
 */
export async function openOutput(file: string): Promise<ByteSink> {
  if (file === '-') return new StdoutSink();
  // The process's own descriptors by name: written through the descriptor itself, since a socket
  // (as a parent process may give) cannot be opened again by its /proc path.
  const fd = ownDescriptor(file);
  if (fd !== undefined) return fd === 1 ? new StdoutSink() : new DirectSink(file, fd, false);
  const target = outputTarget(file);
  return target.kind === 'direct' ? DirectSink.create(file) : ReplacingFileSink.create(file, target);
}

/**
 * Writes a small text as an output: a stats file (atomically, as every regular file), or a report
 * to stdout (`-`), with an output's error handling (a closed pipe ends quietly, a full disk is
 * one line).
 */
export async function writeTextOutput(file: string, text: string): Promise<void> {
  const sink = await openOutput(file);
  try {
    await sink.write(Buffer.from(text, 'utf8'));
    await sink.commit();
  } catch (err) {
    await sink.abort();
    throw err;
  }
}
