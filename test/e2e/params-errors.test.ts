import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURES, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';
import { handMadeNpy, headerDict } from '../helpers/hand-made-npy.js';
import { maxRelativeError, readNpy } from '../helpers/npy.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/**
 * The CLI with a time limit, for inputs that used to hang it: a run that has to be killed shows
 * as status null, and fails the test instead of stalling the suite.
 */
function tsnormWithin(seconds: number, args: string[], input: Buffer | string = '') {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, timeout: seconds * 1000, killSignal: 'SIGKILL', maxBuffer: 1 << 26 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

function expectOneLineError(r: { status: number | null; stderr: string }, mention: string): void {
  expect(r.stderr).toContain(mention);
  expect(r.status).toBe(2);
  expect(isOneLineError(r.stderr)).toBe(true);
}

function written(name: string, bytes: Uint8Array): string {
  const file = path.join(fs.mkdtempSync(path.join(tmp.dir, 'in-')), name);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('hostile NPY headers end in a one-line error, not an internal error', () => {
  it.each([
    ['negative dimensions', handMadeNpy(headerDict('(-3, -100)'), { data: new Uint8Array(1200) }), 'dimension 0 of the shape is -3'],
    ['a header nested 200,000 deep', handMadeNpy(headerDict('('.repeat(200_000)), { major: 2 }), 'nested deeper than 32'],
    ['an empty array of 2^32 channels', handMadeNpy(headerDict('(0, 4294967296, 2)', '|u1')), 'more than tsnorm supports'],
  ])('%s', (_what, bytes, mention) => {
    const file = written('hostile.npy', bytes);
    const r = tsnorm(['normalize', file, '-o', path.join(path.dirname(file), 'out.npy')]);
    expectOneLineError(r, mention);
    expect(r.stderr).toContain(`tsnorm: ${file}: `);
  });

  it('2^40 channels from a pipe, before the data arrives', () => {
    const bytes = handMadeNpy(headerDict('(1, 1099511627776, 1)', '|u1'), { data: new Uint8Array(100) });
    expectOneLineError(tsnorm(['normalize', '-', '--from', 'npy'], { input: bytes }), '<stdin>: shape (1, 1099511627776, 1) has 1099511627776 channels');
  });

  it('an empty array of 2^45 instances with no channels is read at once, even in pieces (it used to spin)', () => {
    const file = written('empty.npy', handMadeNpy(headerDict('(35184372088832, 0, 2)', '|u1')));
    const out = path.join(path.dirname(file), 'out.npy');
    const r = tsnormWithin(20, ['normalize', file, '-o', out, '--budget', '1']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(out, 'latin1')).toContain("'shape': (35184372088832, 0, 2)");
  });
});

describe('stats and affine files', () => {
  const dir = path.join(FIXTURES, 'cases/eval_running_stats');
  const input = path.join(dir, 'input.npy');

  it('--stats /dev/zero is refused before it is read (it used to abort the process)', () => {
    const r = tsnormWithin(20, ['apply', input, '--stats', '/dev/zero']);
    expectOneLineError(r, '/dev/zero: is a character device, expected a JSON file');
  });

  it('--stats naming a FIFO is refused without waiting for a writer', () => {
    const fifo = path.join(tmp.dir, 'stats.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = tsnormWithin(20, ['apply', input, '--stats', fifo]);
    expectOneLineError(r, `${fifo}: is a FIFO (named pipe), expected a JSON file`);
  });

  it.each([
    [['--eps', '0x10'], '--eps: expected a positive number, got "0x10"'],
    [['--momentum', '0x1', '--track-running-stats'], '--momentum: expected a number in [0, 1] or "cumulative", got "0x1"'],
    [['--eps', ' 1e-5'], '--eps: expected a positive number, got " 1e-5"'],
  ])('normalize %j', (flags, message) => {
    const out = path.join(tmp.dir, 'flags.npy');
    expectOneLineError(tsnorm(['normalize', input, '-o', out, ...flags]), message);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a torch state_dict with prefixed keys works as --stats, its prefix found', async () => {
    const statsIn = JSON.parse(fs.readFileSync(path.join(dir, 'stats_in.json'), 'utf8'));
    const sd = path.join(tmp.dir, 'model_state_dict.json');
    fs.writeFileSync(
      sd,
      JSON.stringify({
        'conv.weight': [[[0.5]], [[0.25]], [[2]]],
        'conv.bias': [1, 2, 3],
        'norm.running_mean': statsIn.running_mean,
        'norm.running_var': statsIn.running_var,
        'norm.num_batches_tracked': 3,
      }),
    );
    const out = path.join(tmp.dir, 'prefixed.npy');
    const r = tsnorm(['apply', input, '-o', out, '--stats', sd]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = await readNpy(out);
    const want = await readNpy(path.join(dir, 'expected.npy'));
    expect(maxRelativeError(got.data, want.data)).toBeLessThanOrEqual(1e-6);
  });
});
