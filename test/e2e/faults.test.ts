import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURES, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';
import { handMadeNpy, headerDict } from '../helpers/hand-made-npy.js';
import { random } from '../helpers/random.js';

// What a full disk, a signal, a second run or a file changing underneath does to a run: one
// clear line and exit 2 (or death by the signal), never a partial output, never a temporary
// file left in the output's folder or in $TMPDIR.

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function npy(n: number, c: number, l: number, seed: number): Buffer {
  const next = random(seed);
  const data = new Float32Array(n * c * l);
  for (let i = 0; i < data.length; i++) data[i] = next() * 10 + (i % l) * 0.01;
  return handMadeNpy(headerDict(`(${n}, ${c}, ${l})`), { data: new Uint8Array(data.buffer) });
}

function csv(rows: number, seed: number): string {
  const next = random(seed);
  const lines = ['id,t,a,b,c'];
  for (let r = 0; r < rows; r++)
    lines.push(`d${Math.floor(r / 1000)},${r % 1000},${(next() * 100).toFixed(4)},${(next() * 5).toFixed(5)},${(next() - 0.5).toFixed(6)}`);
  return `${lines.join('\n')}\n`;
}

/** A folder of its own, to see what is left in it. */
function folder(name: string): string {
  const dir = path.join(tmp.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const SMALL = path.join(folder('inputs'), 'small.npy');
fs.writeFileSync(SMALL, npy(64, 4, 2048, 1)); // 2 MiB: more than the 1 MiB disk below
const SMALL_CSV = path.join(tmp.dir, 'inputs', 'small.csv');
fs.writeFileSync(SMALL_CSV, csv(40_000, 2)); // ~1.3 MB

describe('a full disk (a 1 MiB tmpfs, mounted in a private mount namespace)', () => {
  /**
   * Runs `tsnorm ARGS` with a fresh 1 MiB tmpfs at /mnt/full (filled first with FILL bytes),
   * then lists what is left there. unshare gives a mount namespace (as root, or as a user
   * through a user namespace); the tmpfs vanishes with it.
   */
  function onFullDisk(
    args: string[],
    fill = 0,
    env: Record<string, string> = {},
    stdin = '/dev/null',
  ): { status: number | null; stderr: string; left: string[] } {
    const mnt = folder(`mnt-${Math.random().toString(36).slice(2)}`);
    const script = [
      'set -e',
      `mount -t tmpfs -o size=1m tmpfs "${mnt}"`,
      fill > 0 ? `head -c ${fill} /dev/zero > "${mnt}/filler"` : ':',
      'set +e',
      `"${process.execPath}" "${BIN}" "$@" 2>"${mnt}.stderr" <"${stdin}" >/dev/null`,
      'echo "status=$?"',
      `find "${mnt}" -mindepth 1 ! -name filler -printf '%P\\n'`,
    ].join('\n');
    const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script, 'sh', ...args.map((a) => a.replaceAll('@MNT', mnt))], {
      encoding: 'utf8',
      env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll('@MNT', mnt)])) },
    });
    expect(r.stderr, 'unshare and mount must work here (Linux, root or unprivileged user namespaces)').toBe('');
    const lines = r.stdout.trim().split('\n');
    const status = Number(lines[0]!.replace('status=', ''));
    const stderr = fs.readFileSync(`${mnt}.stderr`, 'utf8').replaceAll(mnt, '@MNT');
    return { status, stderr, left: lines.slice(1).filter((l) => l !== '') };
  }

  it('the output: one line naming it, exit 2, no partial output, no temporary file', () => {
    const r = onFullDisk(['normalize', SMALL, '-o', '@MNT/out.npy']);
    expect(r.stderr).toBe('tsnorm: @MNT/out.npy: no space left on device\n');
    expect(r.status).toBe(2);
    expect(r.left).toEqual([]);
  });

  it('a CSV output', () => {
    const r = onFullDisk(['normalize', SMALL_CSV, '--id', 'id', '--keep', 't', '-o', '@MNT/out.csv']);
    expect(r.stderr).toBe('tsnorm: @MNT/out.csv: no space left on device\n');
    expect(r.status).toBe(2);
    expect(r.left).toEqual([]);
  });

  it('a CSV output written by the formatting worker: the same line, nothing left', () => {
    const r = onFullDisk(['normalize', SMALL_CSV, '--id', 'id', '--keep', 't', '-o', '@MNT/out.csv', '--threads', '2', '--off-thread-after', '0']);
    expect(r.stderr).toBe('tsnorm: @MNT/out.csv: no space left on device\n');
    expect(r.status).toBe(2);
    expect(r.left).toEqual([]);
  });

  it.each(['out.arrow', 'out.arrows'])('an Arrow output (%s, written with writev): the same line, nothing left', (name) => {
    const r = onFullDisk(['normalize', SMALL, '-o', `@MNT/${name}`]);
    expect(r.stderr).toBe(`tsnorm: @MNT/${name}: no space left on device\n`);
    expect(r.status).toBe(2);
    expect(r.left).toEqual([]);
  });

  it('an output over an existing file keeps the old file whole', () => {
    const r = onFullDisk(['normalize', SMALL, '-o', '@MNT/filler'], 900_000);
    expect(r.stderr).toBe('tsnorm: @MNT/filler: no space left on device\n');
    expect(r.status).toBe(2);
    expect(r.left).toEqual([]);
  });

  it('the stats file (--save-stats): no half-written JSON, the old one kept', () => {
    const r = onFullDisk(['fit', SMALL, '--save-stats', '@MNT/filler'], 1 << 20);
    expect(r.stderr).toBe('tsnorm: @MNT/filler: no space left on device\n');
    expect(r.status).toBe(2);
    expect(r.left).toEqual([]);
  });

  it('a spill file in $TMPDIR: says to set TMPDIR, leaves nothing there', () => {
    // CSV to NPY on stdout: the NPY waits in a scratch file until its header (the shape) is known.
    const r = onFullDisk(['convert', '-', '--from', 'csv', '--id', 'id', '--keep', 't', '--to', 'npy'], 600_000, { TMPDIR: '@MNT' }, SMALL_CSV);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(
      /^tsnorm: temporary file in @MNT \(\$TMPDIR\): no space left on device \(set TMPDIR to a writable folder with room for the data\)\n$/,
    );
    expect(r.left).toEqual([]);
  }, 60_000);
});

/** Starts tsnorm; resolves when it ends, with how. */
function start(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.stdin!.on('error', () => {}); // a killed run stops reading: EPIPE on what is still queued
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, done };
}

async function until(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('signals: no temporary or partial file anywhere, and death by the signal (exit 128+n in a shell)', () => {
  const BIG = npy(200, 4, 4096, 3); // 13 MB
  const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

  it.each(SIGNALS)('%s while waiting for input on stdin', async (sig) => {
    const out = folder(`sig-wait-${sig}`);
    const scratch = folder(`sig-wait-${sig}-tmp`);
    const { child, done } = start(['normalize', '-', '--from', 'npy', '-o', path.join(out, 'out.npy')], { TMPDIR: scratch });
    await new Promise((r) => setTimeout(r, 300));
    child.kill(sig);
    const r = await done;
    expect(r.signal).toBe(sig);
    expect(r.stderr).toBe('');
    expect(fs.readdirSync(out)).toEqual([]);
    expect(fs.readdirSync(scratch)).toEqual([]);
  });

  it.each(SIGNALS)('%s while writing the output (its temporary file exists)', async (sig) => {
    const out = folder(`sig-write-${sig}`);
    const scratch = folder(`sig-write-${sig}-tmp`);
    const { child, done } = start(['normalize', '-', '--from', 'npy', '-o', path.join(out, 'out.npy')], { TMPDIR: scratch });
    // Half of the input: the output's temporary file is open and part written.
    child.stdin!.write(BIG.subarray(0, BIG.length / 2));
    await until('the temporary output', () => fs.readdirSync(out).some((f) => f.endsWith('.tmp')));
    child.kill(sig);
    const r = await done;
    expect(r.signal).toBe(sig);
    expect(fs.readdirSync(out)).toEqual([]);
    expect(fs.readdirSync(scratch)).toEqual([]);
  });

  it.each(SIGNALS)('%s while the CSV formatting worker writes the output', async (sig) => {
    const out = folder(`sig-worker-${sig}`);
    const scratch = folder(`sig-worker-${sig}-tmp`);
    const { child, done } = start(
      ['normalize', '-', '--from', 'csv', '--id', 'id', '--keep', 't', '-o', path.join(out, 'out.csv'), '--threads', '2', '--off-thread-after', '0'],
      { TMPDIR: scratch },
    );
    // Half of the input: whole instances are formatted by the worker and part written.
    const text = fs.readFileSync(SMALL_CSV);
    child.stdin!.write(text.subarray(0, text.length / 2));
    await until('part of the output', () => fs.readdirSync(out).some((f) => f.endsWith('.tmp') && fs.statSync(path.join(out, f)).size > 0));
    child.kill(sig);
    const r = await done;
    expect(r.signal).toBe(sig);
    expect(fs.readdirSync(out)).toEqual([]);
    expect(fs.readdirSync(scratch)).toEqual([]);
  });

  it.each(SIGNALS)('%s while the output waits in $TMPDIR (CSV from a pipe to NPY on stdout)', async (sig) => {
    const scratch = folder(`sig-spill-${sig}-tmp`);
    const { child, done } = start(['convert', '-', '--from', 'csv', '--id', 'id', '--keep', 't', '--to', 'npy'], { TMPDIR: scratch });
    const text = fs.readFileSync(SMALL_CSV);
    child.stdin!.write(text.subarray(0, text.length / 2));
    const spooled = (): number =>
      fs
        .readdirSync(scratch)
        .flatMap((d) => fs.readdirSync(path.join(scratch, d)).map((f) => fs.statSync(path.join(scratch, d, f)).size))
        .reduce((a, b) => a + b, 0);
    await until('rows in the scratch file', () => spooled() > 0);
    child.kill(sig);
    const r = await done;
    expect(r.signal).toBe(sig);
    expect(fs.readdirSync(scratch)).toEqual([]);
  });

  it.each(SIGNALS)('%s during fit: the old stats file stays as it was', async (sig) => {
    const out = folder(`sig-fit-${sig}`);
    const stats = path.join(out, 'stats.json');
    fs.writeFileSync(stats, 'old');
    const { child, done } = start(['fit', '-', '--from', 'npy', '--save-stats', stats]);
    child.stdin!.write(BIG.subarray(0, BIG.length / 2));
    await new Promise((r) => setTimeout(r, 300));
    child.kill(sig);
    const r = await done;
    expect(r.signal).toBe(sig);
    expect(fs.readdirSync(out)).toEqual(['stats.json']);
    expect(fs.readFileSync(stats, 'utf8')).toBe('old');
  });

  it('SIGPIPE is ignored (as Node does): the run completes, the output is whole', async () => {
    const out = folder('sig-pipe');
    const { child, done } = start(['normalize', '-', '--from', 'npy', '-o', path.join(out, 'out.npy')]);
    child.stdin!.write(BIG.subarray(0, BIG.length / 2));
    await until('the temporary output', () => fs.readdirSync(out).some((f) => f.endsWith('.tmp')));
    child.kill('SIGPIPE');
    child.stdin!.end(BIG.subarray(BIG.length / 2));
    const r = await done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const whole = tsnorm(['normalize', '-', '--from', 'npy', '--to', 'npy'], { input: BIG });
    expect(fs.readFileSync(path.join(out, 'out.npy')).equals(whole.stdout)).toBe(true);
  });
});

describe('SIGKILL: the run cannot clean up, so the next run that writes there does', () => {
  it("removes a killed run's output temporary and scratch folder, never a live run's", async () => {
    const BIG = npy(200, 4, 4096, 3);
    const out = folder('kill-out');
    const scratch = folder('kill-tmp');
    const env = { TMPDIR: scratch };
    const temps = (): string[] =>
      fs
        .readdirSync(out)
        .filter((f) => f.endsWith('.tmp'))
        .sort();
    // Killed while its output's temporary file is part written.
    const killedWriter = start(['normalize', '-', '--from', 'npy', '-o', path.join(out, 'a.npy')], env);
    killedWriter.child.stdin!.write(BIG.subarray(0, BIG.length / 2));
    await until("the killed run's temporary output", () => temps().length === 1);
    const [stale] = temps();
    // Killed while it spools rows in its scratch folder (CSV from a pipe to NPY on stdout).
    const killedSpooler = start(['convert', '-', '--from', 'csv', '--id', 'id', '--keep', 't', '--to', 'npy'], env);
    const text = fs.readFileSync(SMALL_CSV);
    killedSpooler.child.stdin!.write(text.subarray(0, text.length / 2));
    await until("the killed run's scratch folder", () => fs.readdirSync(scratch).length === 1);
    const [staleScratch] = fs.readdirSync(scratch);
    killedWriter.child.kill('SIGKILL');
    killedSpooler.child.kill('SIGKILL');
    expect((await killedWriter.done).signal).toBe('SIGKILL');
    expect((await killedSpooler.done).signal).toBe('SIGKILL');
    expect(temps()).toEqual([stale]);
    expect(fs.readdirSync(scratch)).toEqual([staleScratch]);
    // The next run writing into the folder removes the dead run's file.
    const live = start(['normalize', '-', '--from', 'npy', '-o', path.join(out, 'c.npy')], env);
    live.child.stdin!.write(BIG.subarray(0, BIG.length / 2));
    await until("the next run's temporary output, and the dead one's gone", () => temps().length === 1 && temps()[0] !== stale);
    const [liveTemp] = temps();
    // And a run after it leaves that live run's file alone.
    const next = tsnorm(['normalize', path.join(FIXTURES, 'example.npy'), '-o', path.join(out, 'd.npy')]);
    expect(next.stderr).toBe('');
    expect(next.status).toBe(0);
    expect(temps()).toEqual([liveTemp]);
    // The next run that makes a scratch folder removes the dead one's.
    const spooled = spawnSync(process.execPath, [BIN, 'convert', '-', '--from', 'csv', '--id', 'id', '--keep', 't', '--to', 'npy'], {
      input: text,
      env: { ...process.env, ...env },
      maxBuffer: 1 << 28,
    });
    expect(spooled.stderr.toString()).toBe('');
    expect(spooled.status).toBe(0);
    expect(fs.readdirSync(scratch)).toEqual([]);
    // The live run finishes as if nothing happened.
    live.child.stdin!.end(BIG.subarray(BIG.length / 2));
    const r = await live.done;
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'c.npy')).equals(tsnorm(['normalize', '-', '--from', 'npy', '--to', 'npy'], { input: BIG }).stdout)).toBe(true);
    expect(fs.readdirSync(out).sort()).toEqual(['c.npy', 'd.npy']);
  });
});

describe('two runs writing the same output at once', () => {
  it("the output is one run's output, whole, never a mix; no temporary file left", async () => {
    const dir = folder('race');
    const inputs = [npy(100, 4, 4096, 11), npy(100, 4, 4096, 12)].map((bytes, i) => {
      const f = path.join(dir, `in${i}.npy`);
      fs.writeFileSync(f, bytes);
      return f;
    });
    const expected = inputs.map((f) => tsnorm(['normalize', f, '--to', 'npy']).stdout);
    const outDir = folder('race-out');
    const target = path.join(outDir, 'out.npy');
    for (let round = 0; round < 3; round++) {
      const runs = inputs.map((f) => start(['normalize', f, '-o', target]));
      const results = await Promise.all(runs.map((r) => r.done));
      for (const r of results) {
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      }
      const got = fs.readFileSync(target);
      expect(got.equals(expected[0]!) || got.equals(expected[1]!)).toBe(true);
      expect(fs.readdirSync(outDir)).toEqual(['out.npy']);
    }
  }, 60_000);
});

describe('an input that changes while it is read', () => {
  /**
   * Starts `tsnorm ARGS` writing to a pipe nobody reads: it stops once the pipe is full, part of
   * the way through the input. The input is then truncated (or rewritten), and the pipe drained.
   */
  async function changeUnderneath(args: string[], file: string, change: () => void): Promise<{ code: number | null; stderr: string }> {
    const { child, done } = start(args);
    child.stdout!.pause();
    await new Promise((r) => setTimeout(r, 600));
    change();
    child.stdout!.resume();
    child.stdout!.on('data', () => {});
    const r = await done;
    return { code: r.code, stderr: r.stderr.replaceAll(file, 'FILE') };
  }

  const cases: [string, string, Buffer, string[]][] = [
    ['NPY', 'big.npy', npy(300, 4, 4096, 21), []],
    ['CSV', 'big.csv', Buffer.from(csv(400_000, 22)), ['--id', 'id', '--keep', 't']],
  ];

  it.each(cases)(
    '%s truncated: a clear error, exit 2',
    async (_kind, name, bytes, flags) => {
      const file = path.join(folder('change'), `truncated-${name}`);
      fs.writeFileSync(file, bytes);
      const r = await changeUnderneath(['normalize', file, ...flags, '--to', name.endsWith('.npy') ? 'npy' : 'csv'], file, () =>
        fs.truncateSync(file, Math.floor(bytes.length * 0.6)),
      );
      expect(r.stderr).toBe(
        `tsnorm: FILE: changed while it was read (${bytes.length} bytes when opened, ${Math.floor(bytes.length * 0.6)} now); run again once it is complete\n`,
      );
      expect(r.code).toBe(2);
    },
    60_000,
  );

  it.each(cases)(
    '%s rewritten in place with the same size: a clear error, exit 2',
    async (_kind, name, bytes, flags) => {
      const file = path.join(folder('change'), `rewritten-${name}`);
      fs.writeFileSync(file, bytes);
      const stats = path.join(folder('change'), `stats-${name}.json`);
      expect(tsnorm(['fit', file, ...flags, '--save-stats', stats]).status).toBe(0);
      const r = await changeUnderneath(['apply', file, '--stats', stats, ...flags], file, () => {
        const fd = fs.openSync(file, 'r+');
        fs.writeSync(fd, bytes.subarray(bytes.length - 100), 0, 100, bytes.length - 100);
        fs.futimesSync(fd, new Date(), new Date(Date.now() + 5000));
        fs.closeSync(fd);
      });
      expect(r.stderr).toBe('tsnorm: FILE: was modified while it was read (same size, newer modification time); run again once it is complete\n');
      expect(r.code).toBe(2);
    },
    60_000,
  );

  it('truncated under a run writing to a file: the output is not committed', async () => {
    const dir = folder('change-file');
    const file = path.join(dir, 'in.csv');
    fs.writeFileSync(file, csv(400_000, 23));
    const { child, done } = start(['normalize', file, '--id', 'id', '--keep', 't', '-o', path.join(dir, 'out.csv')]);
    await until('the temporary output', () => fs.readdirSync(dir).some((f) => f.endsWith('.tmp')));
    fs.truncateSync(file, 1000);
    child.stdin!.end();
    const r = await done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('changed while it was read');
    expect(fs.readdirSync(dir)).toEqual(['in.csv']);
  }, 60_000);
});
