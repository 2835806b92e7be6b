import { Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { TsnormError } from '../errors.js';
import type { ByteSink } from './byte-sink.js';
import { type ByteSource, StreamSource } from './byte-source.js';

/** The decompressed bytes of a gzip input, as a stream (read once, in order). */
export class GunzipSource implements ByteSource {
  readonly seekable = false;
  readonly size = undefined;
  private readonly inner: StreamSource;

  constructor(private readonly compressed: ByteSource) {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      const buf = new Uint8Array(1 << 20);
      for (let position = 0; ; ) {
        const n = await compressed.read(buf, 0, buf.length, position);
        if (n === 0) return;
        position += n;
        yield buf.slice(0, n);
      }
    }
    // pipeline, not pipe: it listens for errors on both streams and ends the other on one.
    const gunzip = zlib.createGunzip();
    pipeline(Readable.from(chunks()), gunzip, () => undefined);
    this.inner = new StreamSource(compressed.name, gunzip);
  }

  get name(): string {
    return this.compressed.name;
  }

  read(buf: Uint8Array, offset: number, length: number): Promise<number> {
    return this.inner.read(buf, offset, length).catch((err: unknown) => {
      throw this.corrupt(err);
    });
  }

  peek(n: number): Promise<Uint8Array> {
    return this.inner.peek(n).catch((err: unknown) => {
      throw this.corrupt(err);
    });
  }

  async close(): Promise<void> {
    await this.inner.close();
    await this.compressed.close();
  }

  private corrupt(err: unknown): TsnormError {
    const why = err instanceof Error ? err.message.replace(/^.*?: /, '') : String(err);
    return new TsnormError(`${this.name}: corrupt gzip data (${why})`, 'TSNORM_IO');
  }
}

/** Compresses what is written, for outputs named *.gz. */
export function gzipSink(inner: ByteSink): ByteSink {
  const gzip = zlib.createGzip({ level: 6 });
  let pending: Promise<void> = Promise.resolve();
  let failure: unknown;
  gzip.on('data', (chunk: Buffer) => {
    pending = pending
      .then(() => inner.write(chunk))
      .catch((err) => {
        failure ??= err;
      });
  });
  const ended = new Promise<void>((resolve) => gzip.on('end', resolve));
  const check = (): void => {
    if (failure) throw failure;
  };
  return {
    name: inner.name,
    async write(data: Uint8Array): Promise<void> {
      check();
      await new Promise<void>((resolve) => gzip.write(Buffer.from(data), () => resolve()));
      await pending;
      check();
    },
    async commit(): Promise<void> {
      gzip.end();
      await ended;
      await pending;
      check();
      await inner.commit();
    },
    async abort(): Promise<void> {
      gzip.destroy();
      await inner.abort();
    },
  };
}
