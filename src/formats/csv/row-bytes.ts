import { type ShortestModule, shortestModule } from './dtoa/shortest.js';

const PAGE = 65536;
/** Room for any one number: "-1.2345678901234567e-308" is 24 bytes. */
const NUMBER_ROOM = 32;
const encoder = new TextEncoder();

/**
 * Output text built as UTF-8 bytes, numbers included: they are written by the Ryu module straight
 * into its memory, which holds this buffer, so no string is made per number. Text is copied in
 * char by char while it is ASCII.
 */
export class RowBytes {
  private readonly ryu: ShortestModule;
  private readonly start: number;
  private bytes: Uint8Array;
  private pos: number;

  /** `format` replaces the shortest text (e.g. --precision); it must return '' for NaN; its text is ASCII. */
  constructor(private readonly format?: (x: number) => string) {
    this.ryu = shortestModule();
    this.start = this.ryu.heapStart();
    this.pos = this.start;
    this.bytes = new Uint8Array(this.ryu.memory.buffer);
  }

  get length(): number {
    return this.pos - this.start;
  }

  /** Unicode text s[from, to), as UTF-8. */
  text(s: string, from = 0, to = s.length): void {
    if (this.pos + (to - from) * 3 > this.bytes.length) this.grow((to - from) * 3);
    const b = this.bytes;
    let p = this.pos;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        p += encoder.encodeInto(s.slice(i, to), b.subarray(p)).written;
        break;
      }
      b[p++] = c;
    }
    this.pos = p;
  }

  /** A byte string's s[from, to) (one character per byte, as the CSV reader holds text): its bytes. */
  byteString(s: string, from = 0, to = s.length): void {
    if (this.pos + (to - from) > this.bytes.length) this.grow(to - from);
    const b = this.bytes;
    let p = this.pos;
    for (let i = from; i < to; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /**
   * x as String(x) writes it (or as `format` does); NaN as nothing; -0 as "-0" (String(-0) is
   * "0", which reads back as +0: the sign would be lost).
   */
  number(x: number): void {
    if (x === 0 && 1 / x < 0) {
      this.byteString('-0');
      return;
    }
    if (this.format) {
      this.byteString(this.format(x));
      return;
    }
    if (this.pos + NUMBER_ROOM > this.bytes.length) this.grow(NUMBER_ROOM);
    this.pos = this.ryu.writeShortest(x, this.pos);
  }

  /**
   * The bytes so far, in place (no copy): valid until this buffer is written to again. Sinks are
   * done with what they were given when their write resolves, so the writer awaits the write and
   * then calls clear().
   */
  view(): Uint8Array {
    return this.bytes.subarray(this.start, this.pos);
  }

  /** Empties the buffer (after the bytes of view() were written). */
  clear(): void {
    this.pos = this.start;
  }

  private grow(need: number): void {
    const memory = this.ryu.memory;
    const missing = this.pos + need - memory.buffer.byteLength;
    // At least double, so that a long run of rows grows it a few times only.
    memory.grow(Math.max(Math.ceil(missing / PAGE), memory.buffer.byteLength / PAGE));
    this.bytes = new Uint8Array(memory.buffer);
  }
}
