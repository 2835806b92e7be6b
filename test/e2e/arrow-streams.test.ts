import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, startTsnorm, tempDir, tsnorm } from '../helpers/cli.js';

// Arrow as a stream: batches in, batches out, as they arrive; instances across batches and
// instances larger than memory come out exactly as when held whole.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const fixture = path.join(FIXTURES, 'arrow/long_basic.arrow');
const args = ['--id', 'item', '--keep', 't'];

/** The bytes an Arrow stream writer gives for the schema and each batch, a piece per batch. */
function streamPieces(table: A.Table): Uint8Array[] {
  const bytes = A.tableToIPC(table, 'stream');
  // Cut after each message: continuation marker, metadata length, metadata, body.
  const pieces: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let start = 0;
  while (at + 8 <= bytes.length) {
    const metaLength = view.getInt32(at + 4, true);
    if (metaLength === 0) break;
    const message = A.Message.decode(bytes.subarray(at + 8, at + 8 + metaLength));
    at += 8 + metaLength + Number(message.bodyLength);
    if (message.isRecordBatch()) {
      pieces.push(bytes.subarray(start, at));
      start = at;
    }
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

/** 0xFFFFFFFF markers in the output: one per message written (the schema, then each batch). */
function messages(out: Buffer): number {
  let n = 0;
  for (let i = out.indexOf(0xff); i >= 0 && i + 3 < out.length; i = out.indexOf(0xff, i + 1)) {
    if (out[i + 1] === 0xff && out[i + 2] === 0xff && out[i + 3] === 0xff && i % 8 === 0) n++;
  }
  return n;
}

describe('Arrow streams', () => {
  it('apply writes each record batch as soon as it has arrived', async () => {
    const stats = path.join(tmp.dir, 's.json');
    expect(tsnorm(['fit', fixture, '--save-stats', stats, ...args]).status).toBe(0);
    const table = A.tableFromIPC(fs.readFileSync(fixture));
    const pieces = streamPieces(table);
    expect(pieces.length).toBeGreaterThanOrEqual(4);
    const child = startTsnorm(['apply', '-', '--stats', stats, ...args, '--from', 'arrows']);
    let out = Buffer.alloc(0);
    child.stdout.on('data', (d: Buffer) => {
      out = Buffer.concat([out, d]);
    });
    for (let k = 0; k < pieces.length - 1; k++) {
      const started = Date.now();
      child.stdin.write(pieces[k]);
      // The schema and every batch sent so far are out before the next batch is sent.
      while (messages(out) < k + 2) {
        expect(Date.now() - started).toBeLessThan(3000);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    child.stdin.end(pieces[pieces.length - 1]);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(A.tableFromIPC(out).numRows).toBe(table.numRows);
  });

  it('an instance larger than memory (spilled) gives the same bytes as held whole, from a file and from a pipe', () => {
    const whole = tsnorm([fixture, ...args, '--to', 'arrows']);
    expect(whole.status).toBe(0);
    const spilled = tsnorm([fixture, ...args, '--to', 'arrows', '--spill-bytes', '64']);
    expect(spilled.status).toBe(0);
    const piped = tsnorm(['-', ...args, '--to', 'arrows', '--spill-bytes', '64'], { input: fs.readFileSync(fixture) });
    expect(piped.status).toBe(0);
    const values = (b: Buffer) => {
      const t = A.tableFromIPC(b);
      return t.schema.fields.map((f) => Array.from({ length: t.numRows }, (_, i) => String(t.getChild(f.name)!.get(i))));
    };
    expect(values(spilled.stdout)).toEqual(values(whole.stdout));
    expect(values(piped.stdout)).toEqual(values(whole.stdout));
  });

  it('the file format from a pipe reads as from a file', () => {
    const fromFile = tsnorm([fixture, ...args, '--to', 'csv']);
    const fromPipe = tsnorm(['-', ...args, '--to', 'csv'], { input: fs.readFileSync(fixture) });
    expect(fromPipe.status).toBe(0);
    expect(fromPipe.stdout.equals(fromFile.stdout)).toBe(true);
  });
});
