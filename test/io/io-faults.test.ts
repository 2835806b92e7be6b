import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { TsnormError } from '../../src/errors.js';
import { openOutput } from '../../src/io/byte-sink.js';
import { SpoolSink } from '../../src/io/spool-sink.js';
import { BlockSpill } from '../../src/pipeline/block-spill.js';
import { createScratchFile, writeScratch } from '../../src/io/temp-files.js';
import { FIXTURES, tempDir } from '../helpers/cli.js';

// EIO (a failing disk, a network file system) cannot be made on demand in a test machine: the
// fs calls are made to fail here instead, the way the kernel reports it, and the whole CLI
// (main) runs in process. ENOSPC on a real full disk is in test/e2e/faults.test.ts.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
afterEach(() => vi.restoreAllMocks());

let made = 0;
function folder(): string {
  const dir = path.join(tmp.dir, `d${made++}`);
  fs.mkdirSync(dir);
  return dir;
}

const eio = (): NodeJS.ErrnoException => Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO', errno: -5 });

/** fs.writev (every output write goes through it) failing with EIO from the first call. */
function failOutputWrites(): void {
  vi.spyOn(fs, 'writev').mockImplementation(((...args: unknown[]) => {
    const cb = args[args.length - 1] as (err: NodeJS.ErrnoException | null, n: number) => void;
    process.nextTick(() => cb(eio(), 0));
  }) as unknown as typeof fs.writev);
}

/** Runs the CLI in this process; what it wrote on stderr, and its exit code. */
async function runMain(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation(((s: string | Uint8Array) => {
    stderr += s.toString();
    return true;
  }) as typeof process.stderr.write);
  const code = await main(argv);
  return { code, stderr };
}

describe('EIO writing an output file', () => {
  it('a write: one clear error; abort leaves nothing', async () => {
    const dir = folder();
    const sink = await openOutput(path.join(dir, 'out.npy'));
    failOutputWrites();
    await expect(sink.write(new Uint8Array(10))).rejects.toThrow(new TsnormError(`${path.join(dir, 'out.npy')}: input/output error`));
    vi.restoreAllMocks();
    await sink.abort();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a write that makes no progress (0 bytes, no error) fails as a full disk instead of looping', async () => {
    const dir = folder();
    const sink = await openOutput(path.join(dir, 'out.npy'));
    vi.spyOn(fs, 'writev').mockImplementation(((...args: unknown[]) => {
      const cb = args[args.length - 1] as (err: NodeJS.ErrnoException | null, n: number) => void;
      process.nextTick(() => cb(null, 0));
    }) as unknown as typeof fs.writev);
    await expect(sink.write(new Uint8Array(10))).rejects.toThrow(`${path.join(dir, 'out.npy')}: no space left on device`);
    vi.restoreAllMocks();
    await sink.abort();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('short writes (3 bytes a call) go on where they stopped, within a part and across parts', async () => {
    const dir = folder();
    const file = path.join(dir, 'out.arrow');
    const sink = await openOutput(file);
    const real = fs.writeSync;
    let calls = 0;
    vi.spyOn(fs, 'writev').mockImplementation(((fd: number, parts: Uint8Array[], ...rest: unknown[]) => {
      const cb = rest[rest.length - 1] as (err: NodeJS.ErrnoException | null, n: number) => void;
      const position = typeof rest[0] === 'number' ? rest[0] : null;
      const first = Buffer.concat(parts).subarray(0, 3);
      calls++;
      process.nextTick(() => cb(null, real(fd, first, 0, first.length, position)));
    }) as unknown as typeof fs.writev);
    await sink.write(Buffer.from('head:'));
    await sink.writev!([Buffer.from('ab'), Buffer.from(''), Buffer.from('cdefg'), Buffer.from('h')]);
    await sink.write(Buffer.from(':tail'));
    vi.restoreAllMocks();
    await sink.commit();
    expect(fs.readFileSync(file, 'utf8')).toBe('head:abcdefgh:tail');
    expect(calls).toBe(2 + 3 + 2);
  });

  it('closing (where NFS reports a failed write): not renamed into place, nothing left', async () => {
    const dir = folder();
    fs.writeFileSync(path.join(dir, 'out.npy'), 'old');
    const sink = await openOutput(path.join(dir, 'out.npy'));
    await sink.write(new Uint8Array(10));
    vi.spyOn(fs, 'closeSync').mockImplementationOnce(() => {
      throw eio();
    });
    await expect(sink.commit()).rejects.toThrow(`${path.join(dir, 'out.npy')}: input/output error`);
    expect(fs.readdirSync(dir)).toEqual(['out.npy']);
    expect(fs.readFileSync(path.join(dir, 'out.npy'), 'utf8')).toBe('old');
  });

  it.each([
    ['normalize', (dir: string) => ['normalize', path.join(FIXTURES, 'example.npy'), '-o', path.join(dir, 'out.npy')], 'out.npy'],
    ['a CSV output', (dir: string) => ['convert', path.join(FIXTURES, 'example.npy'), '-o', path.join(dir, 'out.csv')], 'out.csv'],
    ['fit --save-stats', (dir: string) => ['fit', path.join(FIXTURES, 'example.npy'), '--save-stats', path.join(dir, 'stats.json')], 'stats.json'],
  ])('the whole CLI, %s: exit 2, one line, no file', async (_what, args, name) => {
    const dir = folder();
    failOutputWrites();
    const r = await runMain(args(dir));
    expect(r.stderr).toBe(`tsnorm: ${path.join(dir, name)}: input/output error\n`);
    expect(r.code).toBe(2);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('scratch files (spills, spools) on a failing or full $TMPDIR', () => {
  it('EIO: says which folder and what to do', () => {
    const file = createScratchFile('test');
    vi.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw eio();
    });
    expect(() => writeScratch(file.fd, new Uint8Array(8), 0, 8, 0)).toThrow(
      /^temporary file in .*: input\/output error \(set TMPDIR to a writable folder with room for the data\)$/,
    );
  });

  it('a short write (the disk filled up mid-write) is finished or fails, never passed over', () => {
    const file = createScratchFile('test');
    const real = fs.writeSync.bind(fs) as (fd: number, b: Uint8Array, o: number, l: number, p: number | null) => number;
    const calls: number[] = [];
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, b: Uint8Array, o: number, l: number, p: number | null) => {
      calls.push(l);
      return real(fd, b, o, Math.min(l, 3), p); // 3 bytes per call, as a nearly full disk might
    }) as unknown as typeof fs.writeSync);
    const data = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
    writeScratch(file.fd, data, 0, 10, 0);
    expect(calls).toEqual([10, 7, 4, 1]);
    vi.restoreAllMocks();
    expect([...fs.readFileSync(file.path)]).toEqual([...data]);
  });

  it('writes that make no progress fail as a full disk instead of looping', () => {
    const file = createScratchFile('test');
    vi.spyOn(fs, 'writeSync').mockImplementation(() => 0);
    expect(() => writeScratch(file.fd, new Uint8Array(8), 0, 8, 0)).toThrow(/no space left on device/);
  });

  it('a spool shorter than what was written (its file failed underneath) is an error, not an endless loop', async () => {
    const dir = folder();
    const spool = new SpoolSink(await openOutput(path.join(dir, 'out.npy')));
    await spool.write(new Uint8Array(4096));
    vi.spyOn(fs, 'readSync').mockImplementation(() => 0);
    await expect(spool.commit()).rejects.toThrow(/temporary file in .*: input\/output error/);
    vi.restoreAllMocks();
    await spool.abort(); // as the pipeline does with a failed output
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a block spill shorter than what was written is an error, never zeros handed on', async () => {
    const spill = new BlockSpill();
    const values = Float64Array.from({ length: 64 }, (_, i) => i + 1);
    spill.write({ instance: 0, values, offset: 0, channelStride: 64, stepStride: 1, firstChannel: 0, channelCount: 1, firstStep: 0, stepCount: 64 });
    vi.spyOn(fs, 'readSync').mockImplementation(() => 0);
    expect(() => [...spill.read()]).toThrow(/^temporary file in .*: input\/output error/);
    vi.restoreAllMocks();
    expect([...spill.read()][0]!.values).toEqual(values);
    await spill.remove();
  });

  it('the whole CLI: EIO on the spill of an NPY from stdin, exit 2, nothing left', async () => {
    const dir = folder();
    const scratch = folder();
    const before = process.env['TMPDIR'];
    process.env['TMPDIR'] = scratch;
    try {
      // CSV to NPY on stdout: the NPY waits in a spool file until its shape is known.
      const csv = path.join(dir, 'in.csv');
      fs.writeFileSync(csv, 'id,t,a\nx,0,1\nx,1,2\ny,0,3\ny,1,5\n');
      const real = fs.writeSync.bind(fs) as (...a: unknown[]) => number;
      vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, ...rest: unknown[]) => {
        if (fd <= 2) return real(fd, ...rest);
        throw eio();
      }) as unknown as typeof fs.writeSync);
      const r = await runMain(['convert', csv, '--id', 'id', '--keep', 't', '--to', 'npy', '-o', '-']);
      expect(r.stderr).toBe(`tsnorm: temporary file in ${scratch} ($TMPDIR): input/output error (set TMPDIR to a writable folder with room for the data)\n`);
      expect(r.code).toBe(2);
      expect(fs.readdirSync(scratch)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = before;
    }
  });
});
