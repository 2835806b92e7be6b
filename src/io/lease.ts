import type { BufferPool } from './buffer-pool.js';

/**
 * Buffers from a pool shared by the blocks made of them (a read's rows may form blocks of two
 * instances): they go back to the pool when the last holder lets go. The maker holds them until
 * it has made its blocks, each of which holds them once.
 */
export class Lease {
  private holders = 1;

  constructor(
    private readonly pool: BufferPool,
    private readonly buffers: readonly ArrayBuffer[],
  ) {}

  /** One more holder; returns its release, which works once. */
  hold(): () => void {
    this.holders++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.drop();
    };
  }

  /** The maker lets go. */
  drop(): void {
    if (--this.holders === 0) for (const b of this.buffers) this.pool.put(b);
  }
}
