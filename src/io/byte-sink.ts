import fs from 'node:fs';
import path from 'node:path';
import { TsnormError } from '../errors.js';
import { ioError } from './byte-source.js';
import { forgetTempPath, removeTempFile, tempPath } from './temp-files.js';

/**
 * Where output bytes go. A file is written to a temporary file beside it and renamed into place
 * by `commit`, so a failed run never leaves a half-written file and never clobbers its input
 * (even when the output path is the input path). stdout is written as it goes.
 */
export interface ByteSink {
  readonly name: string;
  /** Resolves when `data` may be reused by the caller. */
  write(data: Uint8Array): Promise<void>;
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

class FileSink implements ByteSink {
  private position = 0;
  private done = false;

  private constructor(
    readonly name: string,
    private readonly temp: string,
    private readonly fd: number,
  ) {}

  static async create(file: string): Promise<FileSink> {
    const dir = path.dirname(path.resolve(file));
    try {
      const st = fs.statSync(file, { throwIfNoEntry: false });
      if (st?.isDirectory()) throw new TsnormError(`${file}: is a directory, expected an output file`);
      const temp = tempPath(dir, path.basename(file));
      const fd = fs.openSync(temp, 'wx', st ? st.mode & 0o777 : 0o666);
      return new FileSink(file, temp, fd);
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
    return new Promise((resolve, reject) => {
      const step = (off: number): void => {
        if (off >= data.length) return resolve();
        fs.write(this.fd, data, off, data.length - off, position + off, (err, n) => (err ? reject(ioError(this.name, err)) : step(off + n)));
      };
      step(0);
    });
  }

  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      fs.closeSync(this.fd);
      fs.renameSync(this.temp, this.name);
      forgetTempPath(this.temp);
    } catch (err) {
      await removeTempFile(this.temp);
      throw ioError(this.name, err);
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try { fs.closeSync(this.fd); } catch { /* closed already */ }
    await removeTempFile(this.temp);
  }
}

class StdoutSink implements ByteSink {
  readonly name = '<stdout>';
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

/** Opens a path for atomic writing, or `-` for stdout. */
export async function openOutput(file: string): Promise<ByteSink> {
  return file === '-' ? new StdoutSink() : FileSink.create(file);
}

/** Writes a small text file atomically (stats files). */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const sink = await openOutput(file);
  try {
    await sink.write(Buffer.from(text, 'utf8'));
    await sink.commit();
  } catch (err) {
    await sink.abort();
    throw err;
  }
}
