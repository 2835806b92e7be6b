import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { TsnormError, systemErrorText } from '../errors.js';

/**
 * Bytes of an input. A regular file (also stdin redirected from one) is seekable: reads take a
 * position, and the file can be read twice. A pipe is read once, in order.
 */
export interface ByteSource {
  /** How errors name this input: the path, or `<stdin>`. */
  readonly name: string;
  /** Size in bytes when known (regular files). */
  readonly size: number | undefined;
  readonly seekable: boolean;
  /**
   * Reads up to `length` bytes into buf[offset...]; returns how many (0 at the end). `position`
   * is required for seekable sources and ignored by streams, which continue where they stopped.
   */
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** The first bytes (up to n) without consuming them: for sniffing the format. */
  peek(n: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Reads exactly `length` bytes unless the input ends first; returns how many were read. */
export async function readFully(src: ByteSource, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await src.read(buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Regular files open for reading, to check before an output is committed that none changed. */
const openFiles = new Set<FileSource>();

/**
 * Throws when an input file open now differs (size, modification time) from when it was opened:
 * a file truncated, rewritten or appended to while tsnorm read it would give an output that
 * mixes old and new data, or silently lacks its end. Called before any output is committed.
 */
export function checkInputsUnchanged(): void {
  for (const file of openFiles) file.checkUnchanged();
}

/**
 * The error to report for a failed read: when an input changed meanwhile, that is the cause (a
 * file truncated mid-line looks like a short row), so it is what the user is told.
 */
export function causeOfFailure(err: unknown): unknown {
  try {
    checkInputsUnchanged();
  } catch (changed) {
    return changed;
  }
  return err;
}

class FileSource implements ByteSource {
  readonly seekable = true;
  private readonly mtimeNs: bigint;
  constructor(
    readonly name: string,
    private readonly fd: number,
    readonly size: number,
    private readonly ownsFd: boolean,
  ) {
    this.mtimeNs = fs.fstatSync(fd, { bigint: true }).mtimeNs;
    openFiles.add(this);
  }

  checkUnchanged(): void {
    let now: fs.BigIntStats;
    try {
      now = fs.fstatSync(this.fd, { bigint: true });
    } catch (err) {
      throw ioError(this.name, err);
    }
    if (Number(now.size) !== this.size) {
      throw new TsnormError(
        `${this.name}: changed while it was read (${this.size} bytes when opened, ${now.size} now); run again once it is complete`,
        'TSNORM_IO',
      );
    }
    if (now.mtimeNs !== this.mtimeNs) {
      throw new TsnormError(`${this.name}: was modified while it was read (same size, newer modification time); run again once it is complete`, 'TSNORM_IO');
    }
  }

  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return new Promise((resolve, reject) => {
      fs.read(this.fd, buf, offset, length, position, (err, n) => (err ? reject(ioError(this.name, err)) : resolve(n)));
    });
  }

  async peek(n: number): Promise<Uint8Array> {
    const buf = new Uint8Array(n);
    return buf.subarray(0, await readFully(this, buf, 0, n, 0));
  }

  async close(): Promise<void> {
    openFiles.delete(this);
    if (this.ownsFd) await new Promise<void>((resolve) => fs.close(this.fd, () => resolve()));
  }
}

/** A Node stream read in order: chunks are queued as they arrive and handed out as asked. */
export class StreamSource implements ByteSource {
  readonly seekable = false;
  readonly size = undefined;
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer | null = null;
  private ended = false;
  /** An error the stream raised before anyone read from it (the iterator listens only once read). */
  private failure: unknown;

  constructor(
    readonly name: string,
    private readonly stream: Readable,
  ) {
    stream.on('error', (err) => {
      this.failure ??= err;
    });
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async nextChunk(): Promise<IteratorResult<Buffer>> {
    const next = await this.chunks.next();
    if (this.failure !== undefined) throw this.failure;
    return next;
  }

  async read(buf: Uint8Array, offset: number, length: number): Promise<number> {
    if (!this.pending || this.pending.length === 0) {
      if (this.ended) return 0;
      let next: IteratorResult<Buffer>;
      try {
        next = await this.nextChunk();
      } catch (err) {
        throw ioError(this.name, err);
      }
      if (next.done) {
        this.ended = true;
        return 0;
      }
      this.pending = next.value;
    }
    const n = Math.min(length, this.pending.length);
    buf.set(this.pending.subarray(0, n), offset);
    this.pending = this.pending.subarray(n);
    return n;
  }

  async peek(n: number): Promise<Uint8Array> {
    let have = this.pending ?? Buffer.alloc(0);
    while (have.length < n && !this.ended) {
      let next: IteratorResult<Buffer>;
      try {
        next = await this.nextChunk();
      } catch (err) {
        throw ioError(this.name, err);
      }
      if (next.done) this.ended = true;
      else have = Buffer.concat([have, next.value]);
    }
    this.pending = have;
    return new Uint8Array(have.subarray(0, n));
  }

  async close(): Promise<void> {
    this.stream.destroy();
  }
}

/** Opens a path, or `-` for stdin. */
export async function openInput(file: string): Promise<ByteSource> {
  if (file === '-') {
    const st = fs.fstatSync(0);
    if (st.isFile()) return new FileSource('<stdin>', 0, st.size, false);
    return new StreamSource('<stdin>', process.stdin);
  }
  let fd: number;
  try {
    fd = await new Promise<number>((resolve, reject) => fs.open(file, 'r', (err, f) => (err ? reject(err) : resolve(f))));
  } catch (err) {
    throw ioError(file, err);
  }
  const st = fs.fstatSync(fd);
  if (st.isDirectory()) {
    fs.closeSync(fd);
    throw new TsnormError(`${file}: is a directory, expected a file`, 'TSNORM_IO');
  }
  if (st.isFile()) return new FileSource(file, fd, st.size, true);
  // A FIFO or character device: read it as a stream.
  return new StreamSource(file, fs.createReadStream('', { fd, highWaterMark: 1 << 20 }));
}

/** A system error as a one-line message naming the file. */
export function ioError(name: string, err: unknown): TsnormError {
  if (err instanceof TsnormError) return err;
  return new TsnormError(`${name}: ${systemErrorText(err)}`, 'TSNORM_IO');
}

/** Whether the input starts with the gzip magic bytes (io/gzip.ts reads it then). */
export async function isGzip(src: ByteSource): Promise<boolean> {
  const head = await src.peek(2);
  return head[0] === 0x1f && head[1] === 0x8b;
}
