import type { ByteSource } from './byte-source.js';

/**
 * How far the reading of the inputs has got, for a progress display to poll. Reads only record a
 * number: drawing happens elsewhere, on a timer, so the hot path pays one comparison a read.
 */
export class ReadMeter {
  /** The input being read, its size when known, and the bytes of it read so far. */
  name = '';
  size: number | undefined = undefined;
  done = 0;
  /** Inputs begun: a display notices a new one by this changing. */
  inputs = 0;
  /** When the input was opened (ms since the epoch): rates are measured from it. */
  startedAt = 0;

  /**
   * A set of inputs read as one (a folder): their number and total size. A display then shows the
   * whole set (`setDone` of `set.bytes`) rather than each file.
   */
  set: { readonly files: number; readonly bytes: number; readonly startedAt: number } | undefined;
  /** Bytes of the set's inputs finished before this one. */
  private before = 0;

  /** Reading a set of inputs begins. */
  beginSet(files: number, bytes: number): void {
    this.set = { files, bytes, startedAt: Date.now() };
  }

  /** Bytes of the whole set read so far. */
  get setDone(): number {
    return this.before + this.done;
  }

  begin(name: string, size: number | undefined): void {
    if (this.inputs > 0) this.before += this.size ?? this.done;
    this.name = name;
    this.size = size;
    this.done = 0;
    this.inputs++;
    this.startedAt = Date.now();
  }

  /** Progress is the furthest byte reached: re-reading an instance (two passes) does not count twice. */
  reached(position: number): void {
    if (position > this.done) this.done = position;
  }
}

/** A source that tells a meter how far it has been read. */
export class MeteredSource implements ByteSource {
  private streamed = 0;

  constructor(
    private readonly inner: ByteSource,
    private readonly meter: ReadMeter,
  ) {
    meter.begin(inner.name, inner.size);
  }

  get name(): string {
    return this.inner.name;
  }
  get size(): number | undefined {
    return this.inner.size;
  }
  get seekable(): boolean {
    return this.inner.seekable;
  }

  async read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const n = await this.inner.read(buf, offset, length, position);
    this.meter.reached(this.inner.seekable ? position + n : (this.streamed += n));
    return n;
  }

  peek(n: number): Promise<Uint8Array> {
    return this.inner.peek(n);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
