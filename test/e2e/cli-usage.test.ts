import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURES, ROOT, isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';

// The command line as a new user meets it: typos, flags that do not apply, terminals.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const basic = path.join(FIXTURES, 'cases/basic/input.npy');
const csv = path.join(FIXTURES, 'csv/long_quoted/input.csv');

function expectRefused(r: ReturnType<typeof tsnorm>, mention: string): void {
  expect(r.status).toBe(2);
  expect(isOneLineError(r.stderr)).toBe(true);
  expect(r.stderr).toContain(mention);
}

describe('mistyped commands get a suggestion', () => {
  it.each([
    ['normalise', 'normalize'],
    ['fitt', 'fit'],
    ['aply', 'apply'],
    ['convrt', 'convert'],
  ])('%s', (typo, meant) => {
    expectRefused(tsnorm([typo, basic]), `did you mean '${meant}'`);
  });

  it('a file that exists is read, whatever its name', () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'named-'));
    fs.copyFileSync(basic, path.join(dir, 'fitt'));
    const r = tsnorm(['fitt', '--from', 'npy'], { cwd: dir });
    expect(r.status).toBe(0);
  });
});

describe('--help', () => {
  it.each([[], ['normalize'], ['fit'], ['apply'], ['inverse'], ['convert'], ['inspect'], ['check'], ['stats'], ['stats', 'merge'], ['completion']])(
    'tsnorm %s --help shows examples of that command',
    (...command: string[]) => {
      const r = tsnorm([...command, '--help']);
      expect(r.status).toBe(0);
      const [, section] = r.stdout.toString().split('\nExamples:\n');
      expect(section).toBeDefined();
      const lines = section!.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).toMatch(/^ {2}(\S+ \| )?(tail (-n \+1 )?-f \S+ \| |cat \S+ \| |source <\()?tsnorm /);
      const named = command.join(' ');
      if (named !== '' && named !== 'normalize') expect(lines.some((l) => l.includes(`tsnorm ${named} `))).toBe(true);
    },
  );
});

describe('flags that do not apply are refused, not ignored', () => {
  it.each([
    [['--id', 'x'], '--id: for CSV/TSV/ARROW/ARROWS/PARQUET input'],
    [['--keep', 't'], '--keep: for CSV/TSV/ARROW/ARROWS/PARQUET input'],
    [['--no-header'], '--no-header: for CSV/TSV input'],
    [['--layout', 'wide'], '--layout: for CSV/TSV/ARROW/ARROWS/PARQUET input'],
  ])('%j on NPY input', (flags, message) => {
    expectRefused(tsnorm([basic, ...flags]), message);
  });

  it('--precision and --output-delimiter on NPY output', () => {
    expectRefused(tsnorm([basic, '--precision', '5', '-o', path.join(tmp.dir, 'p.npy')]), '--precision: for CSV/TSV output');
    expectRefused(
      tsnorm([csv, '--id', 'device', '--keep', 'ts', '--output-delimiter', ';', '--to', 'npy', '-o', path.join(tmp.dir, 'p2.npy')]),
      '--output-delimiter: for CSV/TSV output',
    );
  });

  it('several flags for other formats: each group names its own formats', () => {
    const r = tsnorm([basic, '--precision', '5', '--compression', 'zstd', '--output-delimiter', ';', '-o', path.join(tmp.dir, 'p3.npy')]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toBe(
      `tsnorm: --precision, --output-delimiter: for CSV/TSV output; --compression: for ARROW/ARROWS/PARQUET output, and ${path.join(tmp.dir, 'p3.npy')} is NPY\n`,
    );
  });

  it('--dtype on CSV output', () => {
    expectRefused(tsnorm([basic, '--to', 'csv', '--dtype', 'float32']), '--dtype: for NPY/ARROW/ARROWS/PARQUET output');
  });

  it('--momentum without running statistics, as --batch-size', () => {
    expectRefused(tsnorm([basic, '--momentum', '0.5']), '--momentum only matters when running statistics are updated');
    expectRefused(tsnorm([basic, '--batch-size', '2']), '--batch-size only matters');
  });

  it.each([
    ['--eps', '0x10'],
    ['--momentum', '0x1'],
    ['--eps', ' 1e-5'],
    ['--batch-size', ' 2'],
  ])('%s %j is not a plain number', (flag, value) => {
    const r = tsnorm([basic, '--track-running-stats', flag, value]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(flag);
  });
});

describe('contradictions', () => {
  it('--affine with --no-affine, in either order', () => {
    const affine = path.join(FIXTURES, 'cases/affine/affine.json');
    expectRefused(tsnorm([basic, '--affine', affine, '--no-affine']), '--affine and --no-affine contradict');
    expectRefused(tsnorm([basic, '--no-affine', '--affine', affine]), '--affine and --no-affine contradict');
  });

  it('--no-affine without a --stats file', () => {
    expectRefused(tsnorm([basic, '--no-affine']), '--no-affine leaves out the weight and bias of a --stats file');
  });
});

describe('terminals', () => {
  // `script` gives the command a pseudo-terminal for stdin and stdout, as a shell in a terminal does.
  const inTerminal = (command: string) => spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 20_000 });
  const node = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`;

  it('binary NPY output to a terminal is refused', () => {
    const r = inTerminal(`${node} ${JSON.stringify(basic)}; echo "exit=$?"`);
    expect(r.stdout).toContain('not writing binary NPY data to a terminal');
    expect(r.stdout).toContain('exit=2');
    expect(r.stdout).not.toContain('NUMPY');
  });

  it('binary NPY output to a terminal named as a file (-o /dev/tty) is refused too', () => {
    const r = inTerminal(`${node} ${JSON.stringify(basic)} -o /dev/tty; echo "exit=$?"`);
    expect(r.stdout).toContain('/dev/tty: not writing binary NPY data to a terminal');
    expect(r.stdout).toContain('exit=2');
  });

  it('CSV output to a terminal is written', () => {
    const r = inTerminal(`${node} ${JSON.stringify(basic)} --to csv | head -1; echo "exit=$?"`);
    expect(r.stdout).toContain('id,t,c0');
  });

  it('no input and a terminal on stdin: the usage, not a silent wait', () => {
    const r = inTerminal(`${node}; echo "exit=$?"`);
    expect(r.stdout).toContain('Usage:');
    expect(r.stdout).toContain('exit=2');
  });
});

describe('a checkout that was not built', () => {
  it('says to build instead of a module trace', () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'unbuilt-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.copyFileSync(path.join(ROOT, 'bin/tsnorm.js'), path.join(dir, 'bin/tsnorm.js'));
    const r = spawnSync(process.execPath, [path.join(dir, 'bin/tsnorm.js'), '--version'], { encoding: 'utf8' });
    expect(r.stderr.trim()).toBe('tsnorm: not built yet: run `npm ci && npm run build` in the checkout first');
    expect(r.status).toBe(70);
  });
});

describe('error lines are one line, whatever the input holds', () => {
  it('a path with a line break and an escape code', () => {
    const r = tsnorm([path.join(tmp.dir, 'a\nb\x1b[2Jc.npy')]);
    expectRefused(r, 'a\\nb\\x1b[2Jc.npy: no such file');
  });

  it('an unknown option with its suggestion, on the same line', () => {
    const r = tsnorm(['fit', basic, '--save-stats', path.join(tmp.dir, 's.json'), '--momentm', '0.5']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("tsnorm: unknown option '--momentm' (did you mean --momentum?)\n");
  });

  it('an unknown option with control characters', () => {
    const r = tsnorm([basic, '--bad\x07flag']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--bad\\x07flag');
    expect(r.stderr).not.toContain('\x07');
  });
});

describe('--nan ignore says when an infinity blanked series, and names no flag already given', () => {
  it('one note with the count', () => {
    const csv = path.join(tmp.dir, 'inf.csv');
    fs.writeFileSync(csv, 'id,a,b\nx,1,1\nx,inf,2\nx,3,\ny,1,1\ny,2,2\n');
    const r = tsnorm([csv, '--id', 'id', '--nan', 'ignore', '-o', path.join(tmp.dir, 'inf.out.csv')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      'tsnorm: note: 1 series (instance, channel) had infinite values and are all NaN in the output; --nan ignore leaves out only missing values\n',
    );
    expect(
      fs
        .readFileSync(path.join(tmp.dir, 'inf.out.csv'), 'utf8')
        .split('\n')
        .slice(1, 4)
        .map((row) => row.split(',')[1]),
    ).toEqual(['', '', '']);
    const quiet = tsnorm([csv, '--id', 'id', '--nan', 'ignore', '-q', '-o', path.join(tmp.dir, 'inf.out.csv')]);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
  });
});

describe('--nan propagate says when it blanked series', () => {
  it('one note with the count and the fix', () => {
    const r = tsnorm([path.join(FIXTURES, 'cases/nan_propagates/input.npy'), '-o', path.join(tmp.dir, 'nan.npy')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^tsnorm: note: 1 series \(instance, channel\) had missing or infinite values .* --nan ignore/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('no note without missing values, nor with --nan ignore', () => {
    expect(tsnorm([basic, '-o', path.join(tmp.dir, 'b.npy')]).stderr).toBe('');
    expect(tsnorm([path.join(FIXTURES, 'cases/nan_propagates/input.npy'), '--nan', 'ignore', '-o', path.join(tmp.dir, 'nan2.npy')]).stderr).toBe('');
  });
});

describe('fit reads stdin without -, as normalize and apply do', () => {
  it('and learns what it learns from the file', () => {
    const fromFile = path.join(tmp.dir, 'fit-file.json');
    const fromStdin = path.join(tmp.dir, 'fit-stdin.json');
    expect(tsnorm(['fit', basic, '--save-stats', fromFile]).status).toBe(0);
    const r = tsnorm(['fit', '--save-stats', fromStdin], { input: fs.readFileSync(basic) });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(fromStdin, 'utf8')).toBe(fs.readFileSync(fromFile, 'utf8'));
  });
});

describe('help CMD shows help, whatever follows it', () => {
  it('a flag that takes a value does not take --help for it and run the command', () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'help-'));
    const r = tsnorm(['help', 'fit', '--save-stats'], { cwd: dir, input: fs.readFileSync(basic) });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toContain('Usage: tsnorm fit [options] [inputs...]');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('an unknown subcommand of stats is refused, as an unknown command is', () => {
    const r = tsnorm(['help', 'stats', 'bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("tsnorm: help: unknown command 'stats bogus' (stats has: merge)\n");
  });
});
