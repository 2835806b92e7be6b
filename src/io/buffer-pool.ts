/**
 * ArrayBuffers for reuse, by size class (eight classes an octave, from 4 KB: a buffer is at most
 * 9% larger than asked). Buffers that go back and forth between threads (moved, not copied), and
 * a read's buffers once its rows are written, come back here instead of becoming garbage: memory
 * left to the garbage collector was freed late, tens of megabytes of dead buffers at a time on
 * each thread.
 */
export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();

  /** At most `keep` buffers of each size class are kept. */
  constructor(private readonly keep = 64) {}

  /** A buffer of at least `bytes` bytes (its contents are whatever it last held). */
  take(bytes: number): ArrayBuffer {
    const k = sizeClass(bytes);
    return this.free.get(k)?.pop() ?? new ArrayBuffer(classBytes(k));
  }

  /** Gives a buffer back (one from take(), or any of a class's size). */
  put(buffer: ArrayBuffer): void {
    const k = sizeClass(buffer.byteLength);
    if (buffer.byteLength !== classBytes(k)) return;
    let list = this.free.get(k);
    if (!list) this.free.set(k, (list = []));
    if (list.length < this.keep) list.push(buffer);
  }
}

const MIN_CLASS = 96; // 2^(96/8) = 4 KB

/** The size class that holds `bytes`. */
export function sizeClass(bytes: number): number {
  let k = Math.max(MIN_CLASS, Math.ceil(8 * Math.log2(Math.max(1, bytes))));
  // Floating point may put an exact class size one above or below.
  while (k > MIN_CLASS && classBytes(k - 1) >= bytes) k--;
  while (classBytes(k) < bytes) k++;
  return k;
}

/** The size of class k's buffers: 2^(k/8), rounded up to 8 bytes. */
export function classBytes(k: number): number {
  return Math.ceil(2 ** (k / 8) / 8) * 8;
}
