/**
 * The ids seen so far, each with the line where its rows began: to refuse an id that comes back
 * after another. Exact, and compact: the ids' bytes live in one growing arena, found through an
 * open-addressing hash table, about 30 bytes an id where a Map of strings takes ~120 (a file of
 * millions of short instances stays in bounded memory).
 */
export class IdRegistry {
  private arena = new Uint8Array(1 << 16);
  private used = 0;
  /** Per slot: 1 + the index of the id there, or 0 for an empty slot. */
  private slots = new Int32Array(1 << 12);
  private starts = new Float64Array(1 << 10);
  private lengths = new Int32Array(1 << 10);
  private lines = new Float64Array(1 << 10);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The k-th id added (a byte string), and the line it began at. */
  idAt(k: number): string | undefined {
    if (k < 0 || k >= this.count) return undefined;
    const start = this.starts[k]!;
    return Buffer.from(this.arena.buffer, this.arena.byteOffset + start, this.lengths[k]!).toString('latin1');
  }

  lineAt(k: number): number | undefined {
    return k >= 0 && k < this.count ? this.lines[k] : undefined;
  }

  /** The line where `id` (a byte string) began, if it was seen. */
  lineOf(id: string): number | undefined {
    const k = this.find(id, hash(id));
    return k < 0 ? undefined : this.lines[k];
  }

  /** Records an id not seen before. */
  add(id: string, line: number): void {
    if ((this.count + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    if (this.count === this.lines.length) this.growIndex();
    if (this.used + id.length > this.arena.length) {
      const grown = new Uint8Array(Math.max(this.arena.length * 2, this.used + id.length));
      grown.set(this.arena.subarray(0, this.used));
      this.arena = grown;
    }
    for (let i = 0; i < id.length; i++) this.arena[this.used + i] = id.charCodeAt(i);
    const k = this.count++;
    this.starts[k] = this.used;
    this.lengths[k] = id.length;
    this.lines[k] = line;
    this.used += id.length;
    this.place(k, hash(id));
  }

  private find(id: string, h: number): number {
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      if (this.equals(v - 1, id)) return v - 1;
    }
  }

  private equals(k: number, id: string): boolean {
    if (this.lengths[k] !== id.length) return false;
    const start = this.starts[k]!;
    for (let i = 0; i < id.length; i++) if (this.arena[start + i] !== id.charCodeAt(i)) return false;
    return true;
  }

  private place(k: number, h: number): void {
    const mask = this.slots.length - 1;
    let s = h & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = k + 1;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let k = 0; k < this.count; k++) {
      const start = this.starts[k]!;
      this.place(k, hashBytes(this.arena, start, start + this.lengths[k]!));
    }
  }

  private growIndex(): void {
    const n = this.lines.length * 2;
    const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.starts = grow(this.starts, (m) => new Float64Array(m));
    this.lengths = grow(this.lengths, (m) => new Int32Array(m));
    this.lines = grow(this.lines, (m) => new Float64Array(m));
  }
}

/** FNV-1a over the bytes of a byte string. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function hashBytes(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}
