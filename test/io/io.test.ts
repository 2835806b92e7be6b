import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { TsnormError, systemErrorText } from '../../src/errors.js';
import { StreamSource, ioError, openInput, readFully } from '../../src/io/byte-source.js';
import { openOutput, outputTarget, partsAfter } from '../../src/io/byte-sink.js';
import { type FileRole, checkDistinctFiles, fileIdentity } from '../../src/io/same-file.js';
import { scratchError } from '../../src/io/temp-files.js';
import { ROOT, tempDir } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
/** The temporary folder with its symbolic links resolved (os.tmpdir() may be one). */
const realTmp = fs.realpathSync(tmp.dir);

let made = 0;
/** A fresh folder under the test's temporary folder. */
function folder(): string {
  const dir = path.join(tmp.dir, `d${made++}`);
  fs.mkdirSync(dir);
  return dir;
}

function mkfifo(file: string): void {
  const r = spawnSync('mkfifo', [file]);
  expect(r.status, r.stderr?.toString()).toBe(0);
}

/** The TsnormError `fn` throws: it must be one line. */
function refusal(fn: () => unknown): string {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TsnormError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

async function asyncRefusal(p: Promise<unknown>): Promise<string> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TsnormError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('openInput', () => {
  it('opens a regular file as seekable, with its size, readable at any position', async () => {
    const file = path.join(folder(), 'in.bin');
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
    fs.writeFileSync(file, bytes);
    const src = await openInput(file);
    try {
      expect(src.seekable).toBe(true);
      expect(src.size).toBe(300);
      expect(src.name).toBe(file);
      // Reads take a position: the end first, then the start, as a seekable source allows.
      const tail = new Uint8Array(10);
      expect(await readFully(src, tail, 0, 10, 290)).toBe(10);
      expect(Buffer.from(tail).equals(bytes.subarray(290))).toBe(true);
      const head = await src.peek(4);
      expect(Array.from(head)).toEqual([0, 7, 14, 21]);
      // peek consumes nothing on a file either.
      const all = new Uint8Array(300);
      expect(await readFully(src, all, 0, 300, 0)).toBe(300);
      expect(Buffer.from(all).equals(bytes)).toBe(true);
    } finally {
      await src.close();
    }
  });

  it('readFully stops at the end of the input and says how much it read', async () => {
    const file = path.join(folder(), 'short.bin');
    fs.writeFileSync(file, Buffer.from('0123456789'));
    const src = await openInput(file);
    try {
      const buf = new Uint8Array(20).fill(0xee);
      // Into buf[5...], from position 4: six bytes are left.
      expect(await readFully(src, buf, 5, 15, 4)).toBe(6);
      expect(Buffer.from(buf.subarray(5, 11)).toString()).toBe('456789');
      expect(buf[4]).toBe(0xee);
      expect(buf[11]).toBe(0xee);
      expect(await readFully(src, buf, 0, 5, 10)).toBe(0);
      expect(await src.peek(100)).toHaveLength(10);
    } finally {
      await src.close();
    }
  });

  it('reads a FIFO as a stream: not seekable, no size, bytes in order', async () => {
    const fifo = path.join(folder(), 'pipe');
    mkfifo(fifo);
    const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31 + 5) & 0xff));
    // Opening a FIFO waits for the other end: both opens run at once (off the main thread).
    const writing = fs.promises.writeFile(fifo, payload);
    const src = await openInput(fifo);
    try {
      expect(src.seekable).toBe(false);
      expect(src.size).toBeUndefined();
      const head = await src.peek(16);
      expect(Buffer.from(head).equals(payload.subarray(0, 16))).toBe(true);
      const buf = new Uint8Array(payload.length + 100);
      // Streams ignore the position: reading goes on from where it stopped (here, the start: peek consumed nothing).
      const n = await readFully(src, buf, 0, buf.length, 12345);
      expect(n).toBe(payload.length);
      expect(Buffer.from(buf.subarray(0, n)).equals(payload)).toBe(true);
      await writing;
    } finally {
      await src.close();
    }
  });

  it('refuses a directory with a one-line TsnormError', async () => {
    const dir = folder();
    expect(await asyncRefusal(openInput(dir))).toBe(`${dir}: is a directory, expected a file`);
  });

  it('refuses a missing file with a one-line TsnormError naming it', async () => {
    const file = path.join(folder(), 'missing.npy');
    expect(await asyncRefusal(openInput(file))).toBe(`${file}: no such file`);
  });
});

describe('StreamSource', () => {
  const chunks = () => [Buffer.from('ab'), Buffer.from('cdefg'), Buffer.from('h'), Buffer.from('ijklmnop')];

  it('peek gathers chunks without consuming them; read then returns the same bytes first', async () => {
    const src = new StreamSource('<test>', Readable.from(chunks()));
    expect(Buffer.from(await src.peek(4)).toString()).toBe('abcd');
    // A second peek sees the same start, and may look further.
    expect(Buffer.from(await src.peek(8)).toString()).toBe('abcdefgh');
    const buf = new Uint8Array(3);
    expect(await src.read(buf, 0, 3)).toBe(3);
    expect(Buffer.from(buf).toString()).toBe('abc');
    const rest = new Uint8Array(100);
    const n = await readFully(src, rest, 0, 100, 0);
    expect(Buffer.from(rest.subarray(0, n)).toString()).toBe('defghijklmnop');
    expect(await src.read(rest, 0, 10)).toBe(0);
    await src.close();
  });

  it('peek beyond the end gives what there is, and read still gets all of it', async () => {
    const src = new StreamSource('<test>', Readable.from(chunks()));
    expect(Buffer.from(await src.peek(1000)).toString()).toBe('abcdefghijklmnop');
    const buf = new Uint8Array(1000);
    const n = await readFully(src, buf, 0, 1000, 0);
    expect(Buffer.from(buf.subarray(0, n)).toString()).toBe('abcdefghijklmnop');
  });

  it('an empty stream peeks and reads nothing', async () => {
    const src = new StreamSource('<test>', Readable.from([] as Buffer[]));
    expect(await src.peek(8)).toHaveLength(0);
    expect(await src.read(new Uint8Array(8), 0, 8)).toBe(0);
  });

  it("a stream's error becomes a one-line error naming the source", async () => {
    const stream = new Readable({
      read() {
        this.destroy(Object.assign(new Error('boom'), { code: 'EIO' }));
      },
    });
    const src = new StreamSource('<stdin>', stream);
    expect(await asyncRefusal(src.read(new Uint8Array(4), 0, 4))).toBe('<stdin>: input/output error');
  });

  it("a stream's error while peeking (sniffing the format) is the same one-line error", async () => {
    const stream = new Readable({
      read() {
        this.destroy(Object.assign(new Error('boom'), { code: 'EIO' }));
      },
    });
    const src = new StreamSource('<stdin>', stream);
    expect(await asyncRefusal(src.peek(8))).toBe('<stdin>: input/output error');
  });
});

describe('outputTarget', () => {
  it('a regular file is replaced at its real path, keeping its mode', () => {
    const dir = folder();
    const file = path.join(dir, 'out.npy');
    fs.writeFileSync(file, 'old');
    fs.chmodSync(file, 0o640);
    const t = outputTarget(file);
    expect(t).toMatchObject({ kind: 'replace', path: path.join(realTmp, path.basename(dir), 'out.npy'), mode: 0o640 });
    // Reached through a linked folder: still the real path.
    const alias = path.join(tmp.dir, `alias${made++}`);
    fs.symlinkSync(dir, alias);
    expect(outputTarget(path.join(alias, 'out.npy'))).toMatchObject({ kind: 'replace', path: fs.realpathSync(file), mode: 0o640 });
    // Another mode is read, not assumed.
    fs.chmodSync(file, 0o600);
    expect(outputTarget(file)).toMatchObject({ mode: 0o600 });
  });

  it('a symbolic link is written through: its target is replaced, not the link', () => {
    const dir = folder();
    const target = path.join(dir, 'real.csv');
    fs.writeFileSync(target, 'x');
    fs.chmodSync(target, 0o604);
    const link = path.join(dir, 'link.csv');
    fs.symlinkSync('real.csv', link);
    expect(outputTarget(link)).toMatchObject({ kind: 'replace', path: fs.realpathSync(target), mode: 0o604 });
  });

  it('a dangling symbolic link: the file is created at its target', () => {
    const dir = folder();
    fs.mkdirSync(path.join(dir, 'sub'));
    const link = path.join(dir, 'link.npy');
    fs.symlinkSync('sub/new.npy', link); // relative to the link's folder
    const t = outputTarget(link);
    expect(t).toEqual({ kind: 'replace', path: path.join(dir, 'sub', 'new.npy'), mode: 0o666 });
    // A chain of links ends at the last one's target.
    const link2 = path.join(dir, 'link2.npy');
    fs.symlinkSync(link, link2);
    expect(outputTarget(link2)).toEqual({ kind: 'replace', path: path.join(dir, 'sub', 'new.npy'), mode: 0o666 });
  });

  it('a new file is created where it is named (mode 0666 before the umask)', () => {
    const dir = folder();
    expect(outputTarget(path.join(dir, 'fresh.csv'))).toEqual({ kind: 'replace', path: path.join(dir, 'fresh.csv'), mode: 0o666 });
  });

  it('a FIFO is written directly, never replaced', () => {
    const fifo = path.join(folder(), 'pipe');
    mkfifo(fifo);
    expect(outputTarget(fifo)).toEqual({ kind: 'direct', path: fifo });
    expect(outputTarget('/dev/null')).toEqual({ kind: 'direct', path: '/dev/null' });
  });

  it('a missing folder is named in the error', () => {
    const dir = folder();
    const file = path.join(dir, 'no', 'such', 'out.npy');
    expect(refusal(() => outputTarget(file))).toBe(`${file}: the folder ${path.join(dir, 'no', 'such')} does not exist (create it first)`);
    // The same for a dangling link whose target's folder is missing: the target's folder is named.
    const link = path.join(dir, 'link.npy');
    fs.symlinkSync(path.join(dir, 'gone', 'x.npy'), link);
    expect(refusal(() => outputTarget(link))).toBe(`${link}: the folder ${path.join(dir, 'gone')} does not exist (create it first)`);
  });

  it('a directory, an empty name, or a file used as a folder are refused', () => {
    const dir = folder();
    expect(refusal(() => outputTarget(dir))).toBe(`${dir}: is a directory, expected an output file`);
    expect(refusal(() => outputTarget(''))).toBe('an empty output file name');
    const plain = path.join(dir, 'plain.txt');
    fs.writeFileSync(plain, '');
    expect(refusal(() => outputTarget(path.join(plain, 'out.npy')))).toBe(`${path.join(plain, 'out.npy')}: a component of the path is not a directory`);
  });
});

describe('openOutput', () => {
  const temps = (dir: string) => fs.readdirSync(dir).filter((f) => /^\.tsnorm-.*\.tmp$/.test(f));

  it('writes to a temporary file beside the output; commit leaves only the final file', async () => {
    const dir = folder();
    const file = path.join(dir, 'out.csv');
    const sink = await openOutput(file);
    await sink.write(Buffer.from('a,b\n'));
    await sink.write(Buffer.from('1,2\n'));
    // Nothing at the output's name until commit: the bytes are in one .tsnorm-*.tmp beside it.
    expect(fs.existsSync(file)).toBe(false);
    expect(temps(dir)).toHaveLength(1);
    await sink.commit();
    expect(fs.readdirSync(dir)).toEqual(['out.csv']);
    expect(fs.readFileSync(file, 'utf8')).toBe('a,b\n1,2\n');
    const mode = fs.statSync(file).mode & 0o777;
    expect(mode).toBe(0o666 & ~process.umask());
  });

  it('replaces an existing file whole, keeping its mode; writeAt patches earlier bytes', async () => {
    const dir = folder();
    const file = path.join(dir, 'out.npy');
    fs.writeFileSync(file, 'a much longer old content that must not survive');
    fs.chmodSync(file, 0o640);
    const sink = await openOutput(file);
    await sink.write(Buffer.from('HEADER??'));
    await sink.write(Buffer.from('body'));
    await sink.writeAt!(Buffer.from('!!'), 6);
    // The old file is intact until commit.
    expect(fs.readFileSync(file, 'utf8')).toBe('a much longer old content that must not survive');
    await sink.commit();
    expect(fs.readFileSync(file, 'utf8')).toBe('HEADER!!body');
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(dir)).toEqual(['out.npy']);
  });

  it('writes through a symbolic link: the link stays a link, its target gets the bytes', async () => {
    const dir = folder();
    fs.writeFileSync(path.join(dir, 'real.csv'), 'old');
    const link = path.join(dir, 'link.csv');
    fs.symlinkSync('real.csv', link);
    const sink = await openOutput(link);
    await sink.write(Buffer.from('new'));
    await sink.commit();
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'real.csv'), 'utf8')).toBe('new');
    expect(fs.readdirSync(dir).sort()).toEqual(['link.csv', 'real.csv']);
  });

  it('abort leaves nothing: no output, no temporary file, an existing file untouched', async () => {
    const dir = folder();
    const file = path.join(dir, 'out.csv');
    const sink = await openOutput(file);
    await sink.write(Buffer.from('partial'));
    expect(temps(dir)).toHaveLength(1);
    await sink.abort();
    expect(fs.readdirSync(dir)).toEqual([]);

    fs.writeFileSync(file, 'keep me');
    const again = await openOutput(file);
    await again.write(Buffer.from('half-written'));
    await again.abort();
    expect(fs.readdirSync(dir)).toEqual(['out.csv']);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('writev writes its parts in order, between writes and patches, however many parts', async () => {
    const dir = folder();
    const file = path.join(dir, 'out.arrow');
    const sink = await openOutput(file);
    expect(sink.writev).toBeDefined();
    // More parts than one system call takes (IOV_MAX, 1024), empty ones among them.
    const parts = Array.from({ length: 2500 }, (_, i) => Buffer.from(i % 7 === 0 ? '' : `<${i}>`));
    await sink.write(Buffer.from('head:'));
    await sink.writev!(parts);
    await sink.write(Buffer.from(':tail'));
    await sink.writeAt!(Buffer.from('HEAD'), 0);
    await sink.commit();
    expect(fs.readFileSync(file, 'utf8')).toBe(`HEAD:${Buffer.concat(parts).toString()}:tail`);
  });

  it('writev to a FIFO: a megabyte in many parts arrives whole and in order', async () => {
    const dir = folder();
    const fifo = path.join(dir, 'pipe');
    mkfifo(fifo);
    const reading = fs.promises.readFile(fifo);
    const sink = await openOutput(fifo);
    const parts = Array.from({ length: 64 }, (_, i) => Buffer.alloc(16384 + i, i));
    await sink.writev!(parts);
    await sink.commit();
    expect((await reading).equals(Buffer.concat(parts))).toBe(true);
  });

  it('partsAfter: what a short write leaves, cut within a part or at its end', () => {
    const parts = [Buffer.from('abc'), Buffer.from(''), Buffer.from('de'), Buffer.from('fgh')];
    const left = (n: number) => Buffer.concat(partsAfter(parts, n)).toString();
    for (let n = 0; n <= 8; n++) expect(left(n)).toBe('abcdefgh'.slice(n));
    expect(partsAfter(parts, 4).map((p) => p.toString())).toEqual(['e', 'fgh']);
    expect(partsAfter(parts, 5).map((p) => p.toString())).toEqual(['fgh']);
  });

  it('a FIFO output is written as it goes', async () => {
    const dir = folder();
    const fifo = path.join(dir, 'pipe');
    mkfifo(fifo);
    const reading = fs.promises.readFile(fifo);
    const sink = await openOutput(fifo);
    await sink.write(Buffer.from('streamed'));
    await sink.commit();
    expect((await reading).toString()).toBe('streamed');
    expect(fs.readdirSync(dir)).toEqual(['pipe']);
  });
});

describe('fileIdentity', () => {
  it('a hard link is the same file; a copy is not', () => {
    const dir = folder();
    const a = path.join(dir, 'a.npy');
    fs.writeFileSync(a, 'x');
    const b = path.join(dir, 'b.npy');
    fs.linkSync(a, b);
    const c = path.join(dir, 'c.npy');
    fs.copyFileSync(a, c);
    const ia = fileIdentity(a, 'input');
    expect(ia?.key).toMatch(/^inode:\d+:\d+$/);
    expect(ia?.direct).toBe(false);
    expect(fileIdentity(b, 'output')?.key).toBe(ia?.key);
    expect(fileIdentity(c, 'output')?.key).not.toBe(ia?.key);
  });

  it('./x, an absolute path and a path through .. or a linked folder are the same file', () => {
    const dir = folder();
    const file = path.join(dir, 'x.csv');
    fs.writeFileSync(file, 'x');
    const key = fileIdentity(file, 'input')?.key;
    const relative = `./${path.relative(process.cwd(), file)}`;
    expect(path.isAbsolute(relative)).toBe(false);
    expect(fileIdentity(relative, 'output')?.key).toBe(key);
    // Spelt with '.' and '..' (path.join would tidy them away: the string is built by hand).
    expect(fileIdentity(`${dir}/../${path.basename(dir)}/./x.csv`, 'stats')?.key).toBe(key);
    const alias = path.join(tmp.dir, `alias${made++}`);
    fs.symlinkSync(dir, alias);
    expect(fileIdentity(path.join(alias, 'x.csv'), 'save-stats')?.key).toBe(key);
  });

  it('a file not yet there is known by where it would be created, however spelt', () => {
    const dir = folder();
    const alias = path.join(tmp.dir, `alias${made++}`);
    fs.symlinkSync(dir, alias);
    const want = { key: `new:${path.join(fs.realpathSync(dir), 'new.json')}`, direct: false };
    expect(fileIdentity(path.join(dir, 'new.json'), 'output')).toEqual(want);
    expect(fileIdentity(path.join(alias, 'new.json'), 'save-stats')).toEqual(want);
    expect(fileIdentity(`./${path.relative(process.cwd(), path.join(dir, 'new.json'))}`, 'output')).toEqual(want);
    expect(fileIdentity(`${dir}/sub/../new.json`, 'output')).toEqual(want);
    expect(fileIdentity(path.join(dir, 'other.json'), 'output')).not.toEqual(want);
  });

  it('devices, FIFOs and folders have no identity: writing them destroys nothing', () => {
    const fifo = path.join(folder(), 'pipe');
    mkfifo(fifo);
    expect(fileIdentity('/dev/null', 'output')).toBeUndefined();
    expect(fileIdentity(fifo, 'input')).toBeUndefined();
    expect(fileIdentity(folder(), 'input')).toBeUndefined();
  });
});

describe('checkDistinctFiles', () => {
  const role = (r: FileRole['role'], file: string): FileRole => ({
    role: r,
    path: file,
    flag: { input: 'INPUT', output: '-o', stats: '--stats', affine: '--affine', 'save-stats': '--save-stats', report: '--report' }[r],
  });
  /** A regular file and a second spelling of it (a hard link), in a fresh folder. */
  function twoNames(name: string): [string, string] {
    const dir = folder();
    const file = path.join(dir, name);
    fs.writeFileSync(file, '{}');
    const link = path.join(dir, `link-${name}`);
    fs.linkSync(file, link);
    return [file, link];
  }

  it('refuses a report over an input, the stats file or another report', () => {
    const [data, dataLink] = twoNames('data.csv');
    const [stats] = twoNames('stats.json');
    expect(() => checkDistinctFiles([role('input', data), role('report', dataLink)])).toThrow(
      `--report and INPUT name '${dataLink}' and '${data}' (the same file): writing --report would destroy the input; choose another file`,
    );
    expect(() => checkDistinctFiles([role('stats', stats), role('report', stats)])).toThrow(
      `--report and --stats name '${stats}': writing --report would destroy the --stats file; choose another file`,
    );
    const out = path.join(folder(), 'check.xml');
    expect(() => checkDistinctFiles([role('report', out), role('report', out)])).toThrow(`--report and --report both write to '${out}'`);
  });

  it('allows the output over its input (replaced at the end) and --save-stats over --stats', () => {
    const [data, dataLink] = twoNames('data.npy');
    expect(() => checkDistinctFiles([role('input', data), role('output', data)])).not.toThrow();
    expect(() => checkDistinctFiles([role('input', data), role('output', dataLink)])).not.toThrow();
    const [stats, statsLink] = twoNames('stats.json');
    expect(() => checkDistinctFiles([role('input', data), role('stats', stats), role('save-stats', statsLink)])).not.toThrow();
    // A state_dict as both --stats and --affine, saved over: one file, read twice, written once.
    expect(() => checkDistinctFiles([role('stats', stats), role('affine', statsLink), role('save-stats', stats)])).not.toThrow();
    // One input given twice, or the parameters read from the data file: odd, but nothing is destroyed.
    expect(() => checkDistinctFiles([role('input', data), role('input', dataLink)])).not.toThrow();
    expect(() => checkDistinctFiles([role('input', data), role('stats', dataLink)])).not.toThrow();
    // Different files: nothing to say.
    expect(() => checkDistinctFiles([role('input', data), role('output', stats), role('save-stats', path.join(folder(), 'new.json'))])).not.toThrow();
  });

  it('refuses an output over a file the run reads otherwise, naming both flags', () => {
    const [data, dataLink] = twoNames('data.npy');
    const [stats, statsLink] = twoNames('stats.json');
    // The flags come written-first; the paths in the order the roles were given (see the report).
    const overStats = refusal(() => checkDistinctFiles([role('input', data), role('stats', stats), role('output', statsLink)]));
    expect(overStats).toMatch(/^-o and --stats name '.*' and '.*' \(the same file\): writing -o would destroy the --stats file; choose another file$/);
    expect(overStats).toContain(`'${stats}'`);
    expect(overStats).toContain(`'${statsLink}'`);
    const overInput = refusal(() => checkDistinctFiles([role('input', data), role('save-stats', dataLink)]));
    expect(overInput).toMatch(
      /^--save-stats and INPUT name '.*' and '.*' \(the same file\): writing --save-stats would destroy the input; choose another file$/,
    );
    expect(overInput).toContain(`'${data}'`);
    expect(overInput).toContain(`'${dataLink}'`);
    // Whichever order the roles come in.
    expect(refusal(() => checkDistinctFiles([role('save-stats', dataLink), role('input', data)]))).toMatch(
      /^--save-stats and INPUT name .*: writing --save-stats would destroy the input; choose another file$/,
    );
    expect(refusal(() => checkDistinctFiles([role('input', data), role('affine', stats), role('output', stats)]))).toBe(
      `-o and --affine name '${stats}': writing -o would destroy the --affine file; choose another file`,
    );
  });

  it('refuses --save-stats over an --affine file that is not the --stats file', () => {
    const [data] = twoNames('data.npy');
    const [stats] = twoNames('stats.json');
    const [affine] = twoNames('affine.json');
    expect(refusal(() => checkDistinctFiles([role('input', data), role('stats', stats), role('affine', affine), role('save-stats', affine)]))).toContain(
      'writing --save-stats would destroy the --affine file',
    );
    expect(refusal(() => checkDistinctFiles([role('input', data), role('affine', affine), role('save-stats', affine)]))).toContain(
      'writing --save-stats would destroy the --affine file',
    );
  });

  it('refuses two outputs to one file, existing or new, however spelt', () => {
    const [data] = twoNames('data.npy');
    const dir = folder();
    const fresh = path.join(dir, 'out.json');
    const freshAgain = `${dir}/./sub/../out.json`;
    expect(refusal(() => checkDistinctFiles([role('input', data), role('output', fresh), role('save-stats', freshAgain)]))).toBe(
      `-o and --save-stats both write to '${fresh}' and '${freshAgain}' (the same file): the one would overwrite or mix with the other; give them different files`,
    );
    // stdout by two names: '-' and /dev/stdout (whatever stdout is here).
    expect(refusal(() => checkDistinctFiles([role('input', data), role('output', '-'), role('save-stats', '/dev/stdout')]))).toContain(
      "-o and --save-stats both write to stdout and '/dev/stdout'",
    );
  });

  it('refuses an output written as it goes (stdout) over its input: it would read what it overwrote', () => {
    // stdout redirected to the input file, in a child process: `tsnorm data.npy > data.npy`.
    const data = path.join(folder(), 'data.npy');
    fs.writeFileSync(data, 'data');
    const script = `
      import { checkDistinctFiles } from ${JSON.stringify(path.join(ROOT, 'dist/io/same-file.js'))};
      const roles = (out) => [{ role: 'input', flag: 'INPUT', path: process.argv[1] }, { role: 'output', flag: '-o', path: out }];
      for (const out of ['-', '/dev/stdout', process.argv[1]]) {
        try { checkDistinctFiles(roles(out)); console.error(out + ': allowed'); }
        catch (e) { console.error(out + ': ' + e.message); }
      }`;
    const fd = fs.openSync(data, 'a');
    try {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, data], { stdio: ['ignore', fd, 'pipe'] });
      expect(r.status).toBe(0);
      expect(r.stderr.toString().split('\n').filter(Boolean)).toEqual([
        `-: -o and INPUT name stdout and '${data}' (the same file): writing -o would destroy the input; choose another file`,
        `/dev/stdout: -o and INPUT name '/dev/stdout' and '${data}' (the same file): writing -o would destroy the input; choose another file`,
        // Named by its path, the file is replaced at the end, after it was read: allowed.
        `${data}: allowed`,
      ]);
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('scratch files', () => {
  /** Runs createScratchFile in a fresh process with $TMPDIR set: what it prints, and its exit status. */
  function inChild(tmpdir: string, body: string) {
    const script = `
      import fs from 'node:fs';
      import { createScratchFile } from ${JSON.stringify(path.join(ROOT, 'dist/io/temp-files.js'))};
      ${body}`;
    const env = { ...process.env, TMPDIR: tmpdir };
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env });
    return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  it('creates private files in a private folder under $TMPDIR, removed when the process ends', () => {
    const dir = folder();
    const r = inChild(
      dir,
      `
      const a = createScratchFile('spill');
      const b = createScratchFile('spool');
      fs.writeSync(a.fd, 'abc');
      const mode = (p) => (fs.statSync(p).mode & 0o777).toString(8);
      console.log(JSON.stringify({ a: a.path, b: b.path, modeA: mode(a.path), modeDir: mode(a.path.slice(0, a.path.lastIndexOf('/'))) }));`,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = JSON.parse(r.stdout) as { a: string; b: string; modeA: string; modeDir: string };
    expect(path.dirname(got.a)).toBe(path.dirname(got.b));
    expect(path.dirname(path.dirname(got.a))).toBe(dir);
    // Named for its owner (io/stale-temps.ts: a later run removes it if this one is killed), then mkdtemp's six characters.
    expect(path.basename(path.dirname(got.a))).toMatch(/^tsnorm-[0-9a-f]{6}\.[0-9a-f]{6}\.[0-9a-f]{6}\.\d+\.\d+\.[A-Za-z0-9]{6}$/);
    expect(path.basename(got.a)).toMatch(/^spill-[a-z0-9]{12}$/);
    expect(path.basename(got.b)).toMatch(/^spool-[a-z0-9]{12}$/);
    expect(got.modeA).toBe('600');
    expect(got.modeDir).toBe('700');
    // The exit hook removed both files and their folder.
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a missing $TMPDIR, or a file as $TMPDIR, is a one-line error saying what to do', () => {
    const dir = folder();
    const missing = path.join(dir, 'nope');
    const body = `try { createScratchFile('spill'); console.log('made'); } catch (e) { console.log(e.name + ': ' + e.message); }`;
    expect(inChild(missing, body).stdout.trim()).toBe(
      `TsnormError: temporary file in ${missing} ($TMPDIR): the folder does not exist (set TMPDIR to a writable folder with room for the data)`,
    );
    const plain = path.join(dir, 'plain');
    fs.writeFileSync(plain, '');
    expect(inChild(plain, body).stdout.trim()).toBe(
      `TsnormError: temporary file in ${plain} ($TMPDIR): it is not a folder (set TMPDIR to a writable folder with room for the data)`,
    );
  });

  it("ioError words the system's errors itself, naming the file and not the call", () => {
    const caught = (op: () => unknown): unknown => {
      try {
        op();
      } catch (err) {
        return err;
      }
      throw new Error('no error');
    };
    const plain = path.join(tmp.dir, 'plain-for-errno');
    fs.writeFileSync(plain, '');
    const cases: [unknown, string][] = [
      [caught(() => fs.openSync(path.join(plain, 'x'), 'r')), 'a component of the path is not a directory'],
      [caught(() => fs.readFileSync(path.join(tmp.dir, 'nothing-here'))), 'no such file'],
      [caught(() => fs.renameSync(plain, '/proc/self/nope')), 'on another file system'],
      [caught(() => fs.readSync(fs.openSync(tmp.dir, 'r'), Buffer.alloc(1))), 'is a directory, expected a file'],
    ];
    for (const [err, text] of cases) {
      expect(systemErrorText(err)).toBe(text);
      expect(ioError('in.npy', err).message).toBe(`in.npy: ${text}`);
    }
    expect(systemErrorText(Object.assign(new Error('EPROTO: raw'), { code: 'EPROTO', syscall: 'read' }))).toBe('system error EPROTO (read)');
    expect(systemErrorText(new Error('not a system error'))).toBe('not a system error');
  });

  it('scratchError words system errors, and passes a TsnormError through', () => {
    const where = process.env['TMPDIR'] ? `${os.tmpdir()} ($TMPDIR)` : os.tmpdir();
    const message = (code: string) => scratchError(Object.assign(new Error(`${code}: raw`), { code })).message;
    expect(message('ENOSPC')).toBe(`temporary file in ${where}: no space left on device (set TMPDIR to a writable folder with room for the data)`);
    expect(message('EDQUOT')).toContain(': disk quota exceeded (');
    expect(message('EROFS')).toContain(': read-only file system (');
    expect(message('EACCES')).toContain(': permission denied (');
    expect(message('EIO')).toContain(': input/output error (');
    // A code without wording is named, never given in Node's words (they change between versions).
    expect(message('EWEIRD')).toContain(': system error EWEIRD (');
    expect(scratchError(Object.assign(new Error('EWEIRD: raw, rename'), { code: 'EWEIRD', syscall: 'rename' })).message).toContain(
      ': system error EWEIRD (rename) (',
    );
    expect(scratchError(new Error('x'))).toBeInstanceOf(TsnormError);
    const own = new TsnormError('already worded');
    expect(scratchError(own)).toBe(own);
  });
});
