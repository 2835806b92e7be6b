import { type ShortestModule, shortestModule } from './dtoa/shortest.js';

const PAGE = 65536;
/** Room for any one number: "-1.2345678901234567e-308" is 24 bytes. */
const NUMBER_ROOM = 32;
const encoder = new TextEncoder();

/**
 * Output text built as UTF-8 bytes, numbers included: they are written by the Ryu module straight
 * into its memory, which holds this buffer, so no string is made per number. Text is copied in
 * char by char while it is ASCII. `take` hands the bytes out as a Buffer of their own.
 */
export class RowBytes {
  private readonly ryu: ShortestModule;
  private readonly start: number;
  private bytes: Uint8Array;
  private pos: number;

  /** `format` replaces the shortest text (e.g. --precision); it must return '' for NaN. */
  constructor(private readonly format?: (x: number) => string) {
    this.ryu = shortestModule();
    this.start = this.ryu.heapStart();
    this.pos = this.start;
    this.bytes = new Uint8Array(this.ryu.memory.buffer);
  }

  get length(): number {
    return this.pos - this.start;
  }

  /** s[from, to) as UTF-8. */
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

  /** x as String(x) writes it (or as `format` does); NaN as nothing. */
  number(x: number): void {
    if (this.format) {
      this.text(this.format(x));
      return;
    }
    if (this.pos + NUMBER_ROOM > this.bytes.length) this.grow(NUMBER_ROOM);
    this.pos = this.ryu.writeShortest(x, this.pos);
  }

  /** The bytes so far, copied out; the buffer starts again empty. */
  take(): Buffer {
    const out = Buffer.from(this.bytes.subarray(this.start, this.pos));
    this.pos = this.start;
    return out;
  }

  private grow(need: number): void {
    const memory = this.ryu.memory;
    const missing = this.pos + need - memory.buffer.byteLength;
    // At least double, so that a long run of rows grows it a few times only.
    memory.grow(Math.max(Math.ceil(missing / PAGE), memory.buffer.byteLength / PAGE));
    this.bytes = new Uint8Array(memory.buffer);
  }
}
