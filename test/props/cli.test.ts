/**
 * The built CLI on hostile files: valid fixtures (NPY, CSV/TSV, Arrow file and stream) with a few
 * bytes mutated, through normalize, convert and inspect, from a file or from stdin. Every run
 * ends with exit code 0, or 2 and one line on stderr; never 70 (an internal error), never a
 * crash or a hang. Each run starts a process (~0.1 s): 30 runs, or RUNS / 200 when that is more.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURES, ROOT, isOneLineError, tempDir } from '../helpers/cli.js';
import { RUNS, mutate, mutationArb, settings, timeoutFor } from './support.js';

const CLI_RUNS = Math.max(30, Math.floor(RUNS / 200));

const tmp = tempDir();
afterAll(() => tmp.cleanup());

interface Base {
  readonly file: string;
  readonly ext: string;
  readonly args: readonly string[];
  readonly bytes: Uint8Array;
}

const base = (relative: string, args: readonly string[] = []): Base => {
  const file = path.join(FIXTURES, relative);
  return { file, ext: path.extname(file), args, bytes: new Uint8Array(fs.readFileSync(file)) };
};

const BASES: readonly Base[] = [
  base('cases/basic/input.npy'),
  base('cases/float64/input.npy'),
  base('cases/fortran_f4/input.npy'),
  base('cases/big_endian_i2/input.npy'),
  base('cases/unbatched_2d/input.npy'),
  base('csv/long_quoted/input.csv', ['--id', 'device', '--keep', 'ts']),
  base('csv/long_crlf_bom/input.csv', ['--id', 'device', '--keep', 'ts']),
  base('csv/missing_ignore/input.csv', ['--nan', 'ignore']),
  base('csv/tsv_no_header/input.tsv', ['--no-header']),
  base('csv/wide_ucr/input.csv', ['--layout', 'wide', '--num-channels', '2', '--no-header']),
  base('arrow/long_basic.arrow', ['--id', 'item', '--keep', 't']),
  base('arrow/long_basic_stream.arrows', ['--id', 'item', '--keep', 't']),
  base('arrow/list_target.arrow', ['--layout', 'list', '--channels', 'target']),
  base('arrow/dict_deltas.arrows', ['--id', 'site']),
  base('arrow/feather_zstd.arrow'),
];

const OUTPUTS: Record<string, readonly string[]> = {
  '.npy': ['.npy', '.csv'],
  '.csv': ['.csv', '.npy', '.arrow'],
  '.tsv': ['.tsv', '.csv'],
  '.arrow': ['.arrow', '.csv', '.arrows'],
  '.arrows': ['.arrows', '.csv'],
};

/** The built CLI, with a time limit: a run that hangs is killed and fails the property. */
function cli(args: readonly string[], input?: Uint8Array): { status: number | null; signal: NodeJS.Signals | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input: input ?? '', timeout: 60_000, maxBuffer: 1 << 28 });
  return { status: r.status, signal: r.signal, stderr: r.stderr.toString('utf8') };
}

describe('the CLI on mutated fixtures', () => {
  it(
    'exits 0, or 2 with one line on stderr; never 70, never a crash',
    async () => {
      if (!fs.existsSync(path.join(ROOT, 'dist/bundle/tsnorm.cjs'))) throw new Error('the CLI is not built: npm run build');
      const job = fc.record({
        base: fc.nat(BASES.length - 1),
        mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        command: fc.constantFrom('normalize', 'normalize', 'convert', 'inspect'),
        stdin: fc.boolean(),
        output: fc.nat(2),
      });
      await fc.assert(
        fc.asyncProperty(job, async (j) => {
          const b = BASES[j.base]!;
          const bytes = mutate(
            b.bytes,
            j.mutations,
            BASES.map((x) => x.bytes),
          );
          const input = path.join(tmp.dir, `in${b.ext}`);
          fs.writeFileSync(input, bytes);
          const outs = OUTPUTS[b.ext]!;
          const out = path.join(tmp.dir, `out${outs[j.output % outs.length]}`);
          const args = [j.command, ...(j.stdin ? ['-', '--from', b.ext.slice(1)] : [input]), ...b.args, ...(j.command === 'inspect' ? [] : ['-o', out])];
          const r = cli(args, j.stdin ? bytes : undefined);
          const what = `tsnorm ${args.join(' ')} (input: ${Buffer.from(bytes).toString('base64')})`;
          expect(r.signal, `${what}: killed by ${r.signal}\n${r.stderr}`).toBeNull();
          expect([0, 2], `${what}: exit ${r.status}\n${r.stderr}`).toContain(r.status);
          if (r.status === 2) expect(isOneLineError(r.stderr), `${what}: ${r.stderr}`).toBe(true);
          fs.rmSync(out, { force: true });
        }),
        settings(CLI_RUNS, 90_000),
      );
    },
    timeoutFor(2_000, CLI_RUNS),
  );
});
