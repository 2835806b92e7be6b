import fs from 'node:fs';
import type { ByteSink } from './byte-sink.js';
import { createScratchFile, discardTempFile, scratchError, scratchIo, writeScratch } from './temp-files.js';

/**
 * A sink that collects everything in a temporary file (where it can be patched with writeAt)
 * and hands it to the real sink at commit: for stdout, when the first bytes depend on the end.
 */
export class SpoolSink implements ByteSink {
  private readonly file = createScratchFile('spool');
  private size = 0;

  constructor(private readonly target: ByteSink) {}

  get name(): string {
    return this.target.name;
  }

  async write(data: Uint8Array): Promise<void> {
    await this.writeAt(data, this.size);
  }

  async writeAt(data: Uint8Array, position: number): Promise<void> {
    writeScratch(this.file.fd, data, 0, data.length, position);
    this.size = Math.max(this.size, position + data.length);
  }

  async commit(): Promise<void> {
    const buf = new Uint8Array(1 << 20);
    try {
      for (let at = 0; at < this.size; ) {
        const n = scratchIo(() => fs.readSync(this.file.fd, buf, 0, Math.min(buf.length, this.size - at), at));
        // Shorter than written: never loop on it (the disk or the folder failed underneath).
        if (n === 0) throw scratchError(Object.assign(new Error(`the scratch file ended at byte ${at} of ${this.size}`), { code: 'EIO' }));
        await this.target.write(buf.subarray(0, n));
        at += n;
      }
      await this.target.commit();
    } finally {
      await this.release();
    }
  }

  async abort(): Promise<void> {
    await this.release();
    await this.target.abort();
  }

  private async release(): Promise<void> {
    await discardTempFile(this.file);
  }
}
