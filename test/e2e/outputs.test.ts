import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, isOneLineError, startTsnorm, tempDir, tsnorm } from '../helpers/cli.js';

// Outputs never destroy what they name: devices, FIFOs and links stay what they are, and no
// output (normalized data or stats) replaces a file the same run reads or writes otherwise.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const basic = path.join(FIXTURES, 'cases/basic/input.npy');
const example = path.join(FIXTURES, 'example.npy');
const fresh = (name: string) => fs.mkdtempSync(path.join(tmp.dir, `${name}-`));

function expectRefused(r: ReturnType<typeof tsnorm>, mention: string): void {
  expect(r.status).toBe(2);
  expect(isOneLineError(r.stderr)).toBe(true);
  expect(r.stderr).toContain(mention);
}

describe('outputs that are not regular files are written to, never replaced', () => {
  it('a character device stays a device (mknod c 1 3, the null device)', () => {
    const dir = fresh('dev');
    const nul = path.join(dir, 'nul');
    const made = spawnSync('mknod', [nul, 'c', '1', '3']);
    // Without the right to make devices, a link to /dev/null checks the same thing.
    if (made.status !== 0) fs.symlinkSync('/dev/null', nul);
    const r = tsnorm([example, '-o', nul]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const st = fs.statSync(nul);
    expect(st.isCharacterDevice()).toBe(true);
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['nul']);
  });

  it('a stats file saved to /dev/null leaves /dev/null a device', () => {
    const r = tsnorm(['fit', example, '--save-stats', '/dev/null']);
    expect(r.status).toBe(0);
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('a FIFO stays a FIFO, and its reader gets the output', async () => {
    const dir = fresh('fifo');
    const fifo = path.join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const child = startTsnorm([basic, '-o', fifo]);
    // The reader is a process of its own: opening a FIFO blocks until the other end opens, and
    // in this worker it would hold one of libuv's few threads (a hang when the machine is busy).
    const reader = spawn('cat', [fifo]);
    // A writer that ends without opening the FIFO would leave cat waiting: it is stopped then, and
    // the test fails on tsnorm's exit code and message rather than on a timeout.
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    void closed.then((status) => {
      if (status !== 0) reader.kill();
    });
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      reader.stdout.on('data', (c: Buffer) => chunks.push(c));
      reader.on('close', () => resolve(Buffer.concat(chunks)));
      reader.on('error', reject);
    });
    const code = await closed;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
    const ref = path.join(dir, 'ref.npy');
    expect(tsnorm([basic, '-o', ref]).status).toBe(0);
    expect(got.equals(fs.readFileSync(ref))).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['fifo', 'ref.npy']);
  });

  it('-o /dev/stdout writes to stdout', () => {
    const r = tsnorm([basic, '-o', '/dev/stdout']);
    expect(r.status).toBe(0);
    expect(r.stdout.equals(tsnorm([basic]).stdout)).toBe(true);
  });

  it('a full device (/dev/full) is one clear error, exit 2', () => {
    expectRefused(tsnorm([basic, '-o', '/dev/full']), '/dev/full: no space left on device');
    // Arrow, written with writev (several buffers a call).
    expectRefused(tsnorm([basic, '-o', '/dev/full', '--to', 'arrow']), '/dev/full: no space left on device');
    expectRefused(tsnorm([basic, '-o', '/dev/full', '--to', 'arrows']), '/dev/full: no space left on device');
    expect(fs.statSync('/dev/full').isCharacterDevice()).toBe(true);
  });
});

describe('symbolic links are written through', () => {
  it('the link stays a link and its target is replaced', () => {
    const dir = fresh('link');
    const target = path.join(dir, 'real.npy');
    fs.writeFileSync(target, 'old');
    const link = path.join(dir, 'link.npy');
    fs.symlinkSync('real.npy', link);
    expect(tsnorm([basic, '-o', link]).status).toBe(0);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe('real.npy');
    expect(fs.readFileSync(target).equals(tsnorm([basic]).stdout)).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['link.npy', 'real.npy']);
  });

  it('a link to a file not yet there creates the target', () => {
    const dir = fresh('dangling');
    const link = path.join(dir, 'link.json');
    fs.symlinkSync('stats/s.json', link);
    fs.mkdirSync(path.join(dir, 'stats'));
    expect(tsnorm(['fit', basic, '--save-stats', link]).status).toBe(0);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'stats/s.json'), 'utf8')).format).toBe('tsnorm-stats');
  });

  it('keeps the mode of the file it replaces, and its owner where the user may give it', () => {
    const dir = fresh('mode');
    const out = path.join(dir, 'out.npy');
    fs.writeFileSync(out, 'old');
    fs.chmodSync(out, 0o640);
    // As root, the file of another user (nobody) stays theirs; otherwise it is the user's own anyway.
    const owner = process.getuid!() === 0 ? 65534 : process.getuid!();
    fs.chownSync(out, owner, owner === 65534 ? 65534 : process.getgid!());
    expect(tsnorm([basic, '-o', out]).status).toBe(0);
    expect(fs.statSync(out).mode & 0o777).toBe(0o640);
    expect(fs.statSync(out).uid).toBe(owner);
  });
});

describe('one file named twice is compared by identity, not by spelling', () => {
  it('-o and --save-stats naming one new file by two spellings', () => {
    const dir = fresh('spell');
    fs.mkdirSync(path.join(dir, 'out'));
    const r = tsnorm([basic, '-o', 'out/x.npy', '--save-stats', path.join(dir, 'out/x.npy')], { cwd: dir });
    expectRefused(r, 'both write to');
    expect(fs.readdirSync(path.join(dir, 'out'))).toEqual([]);
  });

  it('-o through a link to a file not yet there, and --save-stats naming that file', () => {
    const dir = fresh('dangling-pair');
    fs.symlinkSync('real.npy', path.join(dir, 'out.npy'));
    expectRefused(tsnorm([basic, '-o', 'out.npy', '--save-stats', 'real.npy'], { cwd: dir }), 'both write to');
    expect(fs.readdirSync(dir)).toEqual(['out.npy']);
  });

  it('fit --save-stats over its own input', () => {
    const dir = fresh('fit-self');
    const data = path.join(dir, 'in.npy');
    fs.copyFileSync(basic, data);
    expectRefused(tsnorm(['fit', data, '--save-stats', data]), 'destroy');
    expect(fs.readFileSync(data).equals(fs.readFileSync(basic))).toBe(true);
  });

  it('-o over the stats file, and over the affine file (through a hard link)', () => {
    const dir = fresh('params');
    const stats = path.join(dir, 's.json');
    expect(tsnorm(['fit', basic, '--save-stats', stats]).status).toBe(0);
    const before = fs.readFileSync(stats);
    expectRefused(tsnorm(['apply', basic, '--stats', stats, '-o', stats]), '--stats');
    expect(fs.readFileSync(stats).equals(before)).toBe(true);
    const affine = path.join(dir, 'a.json');
    fs.copyFileSync(path.join(FIXTURES, 'cases/affine/affine.json'), affine);
    const alias = path.join(dir, 'alias.npy');
    fs.linkSync(affine, alias);
    expectRefused(tsnorm([basic, '--affine', affine, '-o', alias]), '--affine');
    expect(fs.readFileSync(affine, 'utf8')).toContain('weight');
  });

  it('still allows -o over the input (in place) and --save-stats over --stats', () => {
    const dir = fresh('allowed');
    const data = path.join(dir, 'd.npy');
    fs.copyFileSync(basic, data);
    const stats = path.join(dir, 's.json');
    expect(tsnorm(['fit', basic, '--save-stats', stats]).status).toBe(0);
    const r = tsnorm(['normalize', data, '-o', data, '--stats', stats, '--save-stats', stats]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('stdin and stdout are compared as the files they are redirected to', () => {
  const sh = (script: string, cwd: string) => spawnSync('sh', ['-c', script], { cwd, encoding: 'utf8' });
  const node = `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(FIXTURES, '../bin/tsnorm.js'))}`;

  it('--save-stats over the file stdin comes from', () => {
    const dir = fresh('stdin');
    fs.copyFileSync(basic, path.join(dir, 'a.npy'));
    const r = sh(`${node} fit - --save-stats a.npy < a.npy`, dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('would destroy the input');
    expect(fs.readFileSync(path.join(dir, 'a.npy')).equals(fs.readFileSync(basic))).toBe(true);
  });

  it('output and stats both to stdout', () => {
    const r = tsnorm([basic, '--save-stats', '-']);
    expectRefused(r, 'both write to stdout');
    expect(r.stdout.length).toBe(0);
    expectRefused(tsnorm([basic, '-o', '/dev/stdout', '--save-stats', '/dev/fd/1']), 'both write to');
  });

  it('stdout opened on the input file itself (1<>file): refused before anything is written', () => {
    const dir = fresh('stdout-in');
    const csv = path.join(dir, 'c.csv');
    expect(tsnorm(['convert', basic, '-o', csv]).status).toBe(0);
    const before = fs.readFileSync(csv);
    for (const out of ['', '-o /dev/stdout']) {
      const r = sh(`${node} c.csv --id id --keep t ${out} 1<>c.csv`, dir);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('would destroy the input');
      expect(fs.readFileSync(csv).equals(before)).toBe(true);
    }
  });
});

describe('paths that cannot be used are one clear error, not an internal one', () => {
  it.each([
    ['an output under a file', (d: string) => [basic, '-o', path.join(d, 'f.npy', 'x.npy')], 'a component of the path is not a directory'],
    ['an input under a file', (d: string) => [path.join(d, 'f.npy', 'x.npy')], 'a component of the path is not a directory'],
    ['stats saved under a file', (d: string) => ['fit', basic, '--save-stats', path.join(d, 'f.npy', 's.json')], 'not a'],
    ['a symbolic link loop as input', (d: string) => [path.join(d, 'loop1')], 'too many levels of symbolic links'],
    ['a symbolic link loop as output', (d: string) => [basic, '-o', path.join(d, 'loop1')], 'too many levels of symbolic links'],
    ['a name longer than 255 bytes', (d: string) => [basic, '-o', path.join(d, `${'a'.repeat(252)}.npy`)], 'file name too long'],
    ['an empty output name', () => [basic, '-o', ''], 'an empty output file name'],
  ])('%s', (_what, args, message) => {
    const dir = fresh('paths');
    fs.copyFileSync(basic, path.join(dir, 'f.npy'));
    fs.symlinkSync('loop2', path.join(dir, 'loop1'));
    fs.symlinkSync('loop1', path.join(dir, 'loop2'));
    expectRefused(tsnorm(args(dir)), message);
  });
});

describe('output names and folders', () => {
  it('a name as long as the filesystem allows (255 bytes) still works: the temporary name is short', () => {
    const dir = fresh('long');
    const name = `${'n'.repeat(251)}.npy`;
    const r = tsnorm([basic, '-o', path.join(dir, name)]);
    expect(r.stderr).toBe('');
    expect(fs.readdirSync(dir)).toEqual([name]);
  });

  it('an output folder that does not exist is named as such', () => {
    const missing = path.join(tmp.dir, 'no-such-folder');
    expectRefused(tsnorm([basic, '-o', path.join(missing, 'x.npy')]), `the folder ${missing} does not exist`);
  });

  it('an extension that names no format is refused, and --to overrides it', () => {
    const dir = fresh('ext');
    for (const ext of ['orc', 'json', 'txt']) expectRefused(tsnorm([basic, '-o', path.join(dir, `out.${ext}`)]), `'.${ext}' names no format`);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(tsnorm([basic, '-o', path.join(dir, 'out.txt'), '--to', 'csv']).status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8').split('\n')[0]).toBe('id,t,c0,c1,c2');
  });
});

describe('temporary files need a usable $TMPDIR, and say so when it is not', () => {
  const fortran = path.join(FIXTURES, 'cases/fortran_f4/input.npy');
  const run = (args: string[], tmpdir: string, input?: Buffer) => {
    const r = spawnSync(process.execPath, [path.join(FIXTURES, '../bin/tsnorm.js'), ...args], { env: { ...process.env, TMPDIR: tmpdir }, input: input ?? '' });
    return { status: r.status, stderr: r.stderr.toString() };
  };

  it.each([
    ['a Fortran-order NPY (transposed through a temporary file)', [fortran, '-o', '/dev/null']],
    [
      'CSV to NPY on stdout (spooled through a temporary file)',
      [path.join(FIXTURES, 'csv/long_quoted/input.csv'), '--id', 'device', '--keep', 'ts', '--to', 'npy', '-o', '-'],
    ],
    [
      'a CSV instance larger than memory (spilled)',
      [path.join(FIXTURES, 'csv/long_quoted/input.csv'), '--id', 'device', '--keep', 'ts', '--spill-bytes', '10', '-o', '/dev/null'],
    ],
  ])('%s', (_what, args) => {
    const missing = path.join(tmp.dir, 'no-tmp');
    const r = run(args as string[], missing);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`temporary file in ${missing} ($TMPDIR): the folder does not exist`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a full $TMPDIR (a 64 KB tmpfs) while spilling a series from a pipe: one line, nothing left', () => {
    const small = fresh('small-tmp');
    // Mounting needs root, which this project's CI containers have.
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
    expect(mounted.status).toBe(0);
    try {
      const bytes = fs.readFileSync(path.join(FIXTURES, 'cases/long_series/input.npy'));
      const r = run(['-', '--budget', '1000', '--spill-bytes', '1000', '-o', '/dev/null'], small, bytes);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(
        `tsnorm: temporary file in ${small} ($TMPDIR): no space left on device (set TMPDIR to a writable folder with room for the data)`,
      );
      expect(fs.readdirSync(small)).toEqual([]);
    } finally {
      spawnSync('umount', [small]);
    }
  });

  it('removes its private temporary folder when done', () => {
    const dir = fresh('tmpdir');
    const r = run([path.join(FIXTURES, 'cases/fortran_f4/input.npy'), '-o', '/dev/null'], dir);
    expect(r.status).toBe(0);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
