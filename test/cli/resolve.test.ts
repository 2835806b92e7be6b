import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Command, type RawOptions, resolvePlan } from '../../src/cli/resolve.js';
import { TsnormError } from '../../src/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnorm-resolve-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A small JSON file in the temporary folder. */
function json(content: unknown): string {
  const file = path.join(dir, `params-${files++}.json`);
  fs.writeFileSync(file, JSON.stringify(content));
  return file;
}

/** Paths in the temporary folder for data files (they need not exist: nothing is read). */
const data = (name: string): string => path.join(dir, name);
const IN = data('in.npy');
const OUT = data('out.npy');

const plain = { running_mean: [0.5, -1], running_var: [2, 0.25] };
const withAffine = { ...plain, weight: [1.5, 2], bias: [0.1, -0.2] };
const tsnormStats = { format: 'tsnorm-stats', version: 1, num_features: 2, eps: 0.001, momentum: 0.2, ...plain, num_batches_tracked: 3 };

/**
 * The TsnormError resolvePlan ends in: one line, unless it quotes a value holding a line break
 * (the CLI escapes those when it prints the message).
 */
function refusal(command: Command, inputs: string[], raw: RawOptions): string {
  let err: unknown;
  try {
    resolvePlan(command, inputs, raw);
  } catch (e) {
    err = e;
  }
  expect(err, `${command} ${inputs.join(' ')} ${JSON.stringify(raw)} was accepted`).toBeInstanceOf(TsnormError);
  const message = (err as Error).message;
  if (!Object.values(raw).some((v) => typeof v === 'string' && /[\n\r]/.test(v))) expect(message).not.toMatch(/[\n\r]/);
  return message;
}

describe('resolvePlan: defaults', () => {
  it('normalize: eps 1e-5, momentum 0.1, training without running statistics, stdin to stdout', () => {
    const plan = resolvePlan('normalize', [], {});
    expect(plan).toMatchObject({
      command: 'normalize',
      eps: 1e-5,
      momentum: 0.1,
      training: true,
      trackRunningStats: false,
      batchSize: undefined,
      nan: 'propagate',
      stats: undefined,
      affine: undefined,
      saveStats: undefined,
      budget: undefined,
      holdBytes: undefined,
      compression: undefined,
      inputs: [{ path: '-', format: undefined }],
      output: { path: '-', format: undefined, dtype: undefined },
      formatFlags: [],
    });
    expect(plan.table).toMatchObject({ layout: 'long', header: true, id: undefined, delimiter: undefined, precision: undefined });
  });

  it('normalize: flags are taken as given', () => {
    const plan = resolvePlan('normalize', [IN], { output: data('o.csv'), eps: '0.001', nan: 'ignore', budget: '1000', spillBytes: '4096', from: 'NPY' });
    expect(plan).toMatchObject({ eps: 0.001, nan: 'ignore', budget: 1000, holdBytes: 4096, inputs: [{ path: IN, format: 'npy' }] });
    expect(plan.output).toEqual({ path: data('o.csv'), format: 'csv', dtype: undefined, folder: false });
  });

  it('normalize --track-running-stats or --save-stats: running statistics updated with momentum 0.1', () => {
    expect(resolvePlan('normalize', [IN], { trackRunningStats: true })).toMatchObject({
      training: true,
      trackRunningStats: true,
      momentum: 0.1,
      batchSize: undefined,
    });
    const saved = data('s.json');
    expect(resolvePlan('normalize', [IN], { output: OUT, saveStats: saved })).toMatchObject({
      training: true,
      trackRunningStats: true,
      saveStats: saved,
      momentum: 0.1,
    });
    expect(resolvePlan('normalize', [IN], { trackRunningStats: true, momentum: '0.3', batchSize: '8' })).toMatchObject({ momentum: 0.3, batchSize: 8 });
  });

  it('fit without --momentum: cumulative, one instance per update', () => {
    const plan = resolvePlan('fit', [IN], { saveStats: data('s.json') });
    expect(plan).toMatchObject({ command: 'fit', momentum: 'cumulative', batchSize: 1, training: true, trackRunningStats: true, eps: 1e-5 });
    expect(plan.output).toBeUndefined();
  });

  it('fit with an explicit --momentum keeps batchSize undefined (one update per input)', () => {
    expect(resolvePlan('fit', [IN], { saveStats: data('s.json'), momentum: '0.5' })).toMatchObject({ momentum: 0.5, batchSize: undefined });
    // Even when the momentum given is the default's own value.
    expect(resolvePlan('fit', [IN], { saveStats: data('s.json'), momentum: 'cumulative' })).toMatchObject({ momentum: 'cumulative', batchSize: undefined });
    // --batch-size is taken as given.
    expect(resolvePlan('fit', [IN], { saveStats: data('s.json'), batchSize: '4' })).toMatchObject({ momentum: 'cumulative', batchSize: 4 });
  });

  it('fit reads several inputs', () => {
    const plan = resolvePlan('fit', [data('a.npy'), data('b.csv'), '-'], { saveStats: data('s.json') });
    expect(plan.inputs.map((i) => i.path)).toEqual([data('a.npy'), data('b.csv'), '-']);
  });

  it("takes a stats file's eps and momentum when the flags are absent; flags win", () => {
    const stats = json(tsnormStats);
    expect(resolvePlan('apply', [IN], { stats })).toMatchObject({ eps: 0.001, momentum: 0.2, training: false, trackRunningStats: true });
    expect(resolvePlan('apply', [IN], { stats, eps: '1e-7' })).toMatchObject({ eps: 1e-7, momentum: 0.2 });
    // fit continuing from the file: its momentum, so no one-instance batches.
    expect(resolvePlan('fit', [IN], { stats, saveStats: data('s.json') })).toMatchObject({ eps: 0.001, momentum: 0.2, batchSize: undefined });
    expect(resolvePlan('fit', [IN], { stats, saveStats: data('s.json'), momentum: '0.9' })).toMatchObject({ momentum: 0.9 });
    // A file with momentum null (torch's cumulative average): cumulative, and fit batches one instance.
    const cumulative = json({ ...tsnormStats, momentum: null });
    expect(resolvePlan('fit', [IN], { stats: cumulative, saveStats: data('s.json') })).toMatchObject({ momentum: 'cumulative', batchSize: 1 });
    // A file without eps or momentum: the defaults.
    expect(resolvePlan('apply', [IN], { stats: json(plain) })).toMatchObject({ eps: 1e-5, momentum: 0.1 });
    expect(resolvePlan('fit', [IN], { stats: json(plain), saveStats: data('s.json') })).toMatchObject({ momentum: 'cumulative', batchSize: 1 });
  });

  it("apply and normalize --eval --stats: eval mode with the file's statistics", () => {
    const stats = json(plain);
    const apply = resolvePlan('apply', [IN], { stats });
    expect(apply).toMatchObject({ command: 'apply', training: false, trackRunningStats: true });
    expect(apply.stats).toMatchObject({ file: stats, runningMean: [0.5, -1], runningVar: [2, 0.25], hasAffine: false });
    expect(resolvePlan('normalize', [IN], { eval: true, stats })).toMatchObject({ training: false, trackRunningStats: true });
    // --stats without --eval: training, the file is where the running statistics start.
    expect(resolvePlan('normalize', [IN], { stats })).toMatchObject({ training: true, trackRunningStats: true });
    // --eval alone (no running statistics): eval of a module without them normalizes with instance statistics.
    expect(resolvePlan('normalize', [IN], { eval: true })).toMatchObject({ training: false, trackRunningStats: false });
  });

  it('the output format comes from --to, else from the extension (.gz looked through), else is left open', () => {
    expect(resolvePlan('convert', [IN], { output: data('o.arrow') }).output?.format).toBe('arrow');
    expect(resolvePlan('convert', [IN], { output: data('o.TSV.gz') }).output?.format).toBe('tsv');
    expect(resolvePlan('convert', [IN], { output: data('o.orc'), to: 'csv' }).output?.format).toBe('csv');
    expect(resolvePlan('convert', [IN], { output: data('noext') }).output?.format).toBeUndefined();
    expect(resolvePlan('convert', [IN], { output: data('o.gz') }).output?.format).toBeUndefined();
    expect(resolvePlan('convert', [IN], { output: data('o.npy'), dtype: 'float32' }).output).toEqual({
      path: data('o.npy'),
      format: 'npy',
      dtype: 'float32',
      folder: false,
    });
  });

  it('the table options: aliases of delimiters, column lists, wide layout, precision', () => {
    expect(resolvePlan('normalize', [IN], { delimiter: 'tab', outputDelimiter: 'semicolon' }).table).toMatchObject({ delimiter: '\t', outputDelimiter: ';' });
    for (const [given, d] of [
      ['\\t', '\t'],
      ['comma', ','],
      ['space', ' '],
      ['pipe', '|'],
      [';', ';'],
      ['\t', '\t'],
      ['#', '#'],
    ] as const) {
      expect(resolvePlan('normalize', [IN], { delimiter: given }).table.delimiter, given).toBe(d);
    }
    expect(resolvePlan('normalize', [IN], { id: 'sid', channels: 'a, b ,c', keep: 't' }).table).toMatchObject({
      id: 'sid',
      channels: ['a', 'b', 'c'],
      keep: ['t'],
    });
    expect(resolvePlan('normalize', [IN], { layout: 'wide', numChannels: '3' }).table).toMatchObject({ layout: 'wide', numChannels: 3 });
    expect(resolvePlan('normalize', [IN], { precision: '17' }).table.precision).toBe(17);
    expect(resolvePlan('normalize', [IN], { header: false }).table.header).toBe(false);
    expect(resolvePlan('normalize', [IN], { outputLayout: 'list', compression: 'zstd' })).toMatchObject({
      table: { outputLayout: 'list' },
      compression: 'zstd',
    });
  });
});

describe('resolvePlan: refusals', () => {
  it('fit needs --save-stats and writes no -o', () => {
    expect(refusal('fit', [IN], {})).toBe('fit needs --save-stats FILE (where to write the running statistics)');
    expect(refusal('fit', [IN], { saveStats: data('s.json'), output: OUT })).toContain('fit writes no normalized output (-o)');
  });

  it('apply needs --stats', () => {
    expect(refusal('apply', [IN], {})).toBe('apply needs --stats FILE (the running statistics to apply)');
    expect(refusal('apply', [IN], { output: OUT, eps: '1e-3' })).toContain('apply needs --stats FILE');
  });

  it('--momentum and --batch-size only where running statistics are updated', () => {
    const stats = json(plain);
    const momentum = '--momentum only matters when running statistics are updated (--track-running-stats, --save-stats, or fit)';
    const batch = '--batch-size only matters when running statistics are updated (--track-running-stats, --save-stats, or fit)';
    expect(refusal('normalize', [IN], { momentum: '0.2' })).toBe(momentum);
    expect(refusal('normalize', [IN], { batchSize: '2' })).toBe(batch);
    // Eval mode uses them but never updates them.
    expect(refusal('apply', [IN], { stats, momentum: '0.2' })).toBe(momentum);
    expect(refusal('apply', [IN], { stats, batchSize: '2' })).toBe(batch);
    expect(refusal('normalize', [IN], { eval: true, stats, momentum: '0.2' })).toBe(momentum);
    // convert says what is wrong with all of them at once.
    expect(refusal('convert', [IN], { momentum: '0.2' })).toBe('convert changes format only; it takes no normalization flags');
  });

  it('--eval with --track-running-stats needs --stats', () => {
    expect(refusal('normalize', [IN], { eval: true, trackRunningStats: true })).toBe('--eval with running statistics needs --stats FILE');
  });

  it('--save-stats in eval mode is refused: nothing changes', () => {
    const stats = json(plain);
    const msg = '--save-stats: eval mode does not change the running statistics; nothing to save';
    expect(refusal('normalize', [IN], { eval: true, stats, saveStats: data('s.json') })).toBe(msg);
    expect(refusal('apply', [IN], { stats, saveStats: data('s.json') })).toBe(msg);
  });

  it('convert takes no normalization flags', () => {
    const stats = json(withAffine);
    const msg = 'convert changes format only; it takes no normalization flags';
    for (const raw of [
      { stats },
      { affine: stats },
      { affine: false as const },
      { saveStats: data('s.json') },
      { eval: true },
      { trackRunningStats: true },
      { eps: '1e-5' },
      { nan: 'ignore' },
      { nan: 'propagate' },
    ] satisfies RawOptions[]) {
      expect(refusal('convert', [IN], { output: OUT, ...raw }), JSON.stringify(raw)).toBe(msg);
    }
    // Format flags are what convert is for.
    expect(() => resolvePlan('convert', [IN], { output: data('o.csv'), precision: '6', dtype: 'float32', id: 'id' })).not.toThrow();
  });

  it('stdin once; several inputs write to an output folder', () => {
    expect(refusal('fit', ['-', data('a.npy'), '-'], { saveStats: data('s.json') })).toBe('stdin (-) can be read only once');
    for (const command of ['normalize', 'convert'] as const) {
      expect(refusal(command, [data('a.npy'), data('b.npy')], {})).toBe('2 input files: each gets an output of its own; give -o FOLDER');
      expect(refusal(command, [data('a.npy'), data('b.npy')], { output: data('o.npy') })).toBe(
        `-o ${data('o.npy')} names a file; 2 input files need an output folder (-o FOLDER/)`,
      );
      const plan = resolvePlan(command, [data('a.npy'), data('b.npy')], { output: data('out') });
      expect(plan.output?.folder).toBe(true);
      expect(plan.inputs.map((i) => i.relative)).toEqual(['a.npy', 'b.npy']);
    }
    // No input at all is stdin, once.
    expect(resolvePlan('normalize', [], {}).inputs).toEqual([{ path: '-', format: undefined, relative: '-' }]);
  });

  it('an output extension that names no format is refused, not guessed', () => {
    const out = data('x.orc');
    expect(refusal('normalize', [IN], { output: out })).toBe(
      `${out}: '.orc' names no format tsnorm writes (csv, tsv, npy, arrow, arrows, parquet); use a known extension, or name the format with --to`,
    );
    expect(refusal('convert', [IN], { output: data('x.txt.gz') })).toContain("'.txt' names no format tsnorm writes");
    expect(refusal('convert', [IN], { output: data('x.csv'), to: 'orc' })).toBe(
      "--to: unknown format 'orc' (expected one of csv, tsv, npy, arrow, arrows, parquet)",
    );
    expect(refusal('convert', [IN], { output: OUT, from: 'xls' })).toContain("--from: unknown format 'xls'");
  });

  it('a delimiter must be one ASCII character that cannot be part of a number', () => {
    for (const bad of ['ab', '', '1', '.', '-', '+', 'e', 'E', '"', '\n', '\r', '\0', '\x01', 'é', '\x7f', ',,']) {
      expect(refusal('normalize', [IN], { delimiter: bad }), JSON.stringify(bad)).toBe(
        `--delimiter: expected one ASCII character that cannot be part of a number (',', ';', '|', tab, ...), got '${bad}'`,
      );
      expect(refusal('normalize', [IN], { outputDelimiter: bad }), JSON.stringify(bad)).toContain('--output-delimiter: expected one ASCII character');
    }
  });

  it('--precision at most 17, and whole numbers >= 1 where counts are asked', () => {
    expect(refusal('normalize', [IN], { precision: '18' })).toBe('--precision: at most 17 significant digits (17 already round-trips every float64)');
    for (const [flag, key] of [
      ['--precision', 'precision'],
      ['--num-channels', 'numChannels'],
      ['--batch-size', 'batchSize'],
      ['--budget', 'budget'],
      ['--spill-bytes', 'spillBytes'],
    ] as const) {
      for (const bad of ['0', '-1', '1.5', 'x', '', '1e3', ' 2', '99999999999999999999']) {
        const raw: RawOptions = { trackRunningStats: true, layout: 'wide', [key]: bad };
        expect(refusal('normalize', [IN], raw), `${flag} ${bad}`).toBe(`${flag}: expected a whole number >= 1, got '${bad}'`);
      }
    }
  });

  it('--num-channels goes with --layout wide; wide takes no --id or --channels', () => {
    expect(refusal('normalize', [IN], { numChannels: '3' })).toBe('--num-channels goes with --layout wide');
    expect(refusal('normalize', [IN], { numChannels: '3', layout: 'long' })).toBe('--num-channels goes with --layout wide');
    expect(refusal('normalize', [IN], { layout: 'wide', id: 'id' })).toContain('--layout wide: rows are series');
    expect(refusal('normalize', [IN], { layout: 'wide', channels: 'a' })).toContain('--layout wide: rows are series');
    expect(refusal('normalize', [IN], { layout: 'tall' })).toBe("--layout: expected one of long, wide, list, got 'tall'");
    expect(refusal('normalize', [IN], { outputLayout: 'wide' })).toBe("--output-layout: expected one of long, list, got 'wide'");
  });

  it('--no-affine needs a --stats file whose weight and bias it leaves out', () => {
    expect(refusal('normalize', [IN], { affine: false })).toBe('--no-affine leaves out the weight and bias of a --stats file; there is none');
    expect(refusal('normalize', [IN], { affine: false, trackRunningStats: true })).toContain('--no-affine leaves out');
  });

  it('--stats-key needs a --stats or --affine file', () => {
    expect(refusal('normalize', [IN], { statsKey: 'norm' })).toBe('--stats-key picks a layer in a --stats or --affine file; neither is given');
    expect(refusal('convert', [IN], { statsKey: 'norm' })).toBe('convert changes format only; it takes no normalization flags');
  });

  it('bad values of the other flags', () => {
    expect(refusal('normalize', [IN], { eps: '0' })).toBe('--eps: expected a positive number, got "0"');
    expect(refusal('normalize', [IN], { eps: '-1e-5' })).toContain('--eps: expected a positive number');
    expect(refusal('normalize', [IN], { eps: '0x10' })).toContain('--eps: expected a positive number');
    expect(refusal('normalize', [IN], { trackRunningStats: true, momentum: '1.5' })).toContain('--momentum: expected a number in [0, 1] or "cumulative"');
    expect(refusal('normalize', [IN], { nan: 'drop' })).toBe("--nan: expected one of propagate, ignore, error, got 'drop'");
    expect(refusal('normalize', [IN], { dtype: 'float16' })).toBe("--dtype: expected one of float32, float64, got 'float16'");
    expect(refusal('normalize', [IN], { compression: 'lzo' })).toBe("--compression: expected one of zstd, lz4, snappy, gzip, brotli, none, got 'lzo'");
    expect(refusal('normalize', [IN], { rowGroupSize: '0' })).toBe("--row-group-size: expected a whole number >= 1, got '0'");
    expect(refusal('normalize', [IN], { channels: 'a,,b' })).toBe("--channels: expected comma-separated column names, got 'a,,b'");
  });

  it('a stats file must hold running_mean and running_var', () => {
    const onlyMean = json({ running_mean: [1, 2] });
    expect(refusal('apply', [IN], { stats: onlyMean })).toBe(`${onlyMean}: expected "running_mean" and "running_var"`);
    const onlyAffine = json({ weight: [1], bias: [0] });
    expect(refusal('apply', [IN], { stats: onlyAffine })).toBe(`${onlyAffine}: expected "running_mean" and "running_var"`);
  });

  it('an output over the stats file is refused before anything is read', () => {
    const stats = json(plain);
    expect(refusal('apply', [IN], { stats, output: stats })).toContain('writing -o would destroy the --stats file');
    expect(refusal('normalize', [IN], { saveStats: IN })).toContain('writing --save-stats would destroy the input');
    // Saving over the stats read is allowed: the statistics continue.
    expect(() => resolvePlan('normalize', [IN], { output: OUT, stats, saveStats: stats })).not.toThrow();
  });
});

describe('resolvePlan: formatFlags', () => {
  const TABLES = ['csv', 'tsv', 'arrow', 'arrows', 'parquet'];
  const TEXT = ['csv', 'tsv'];
  const COLUMNAR = ['arrow', 'arrows', 'parquet'];

  it('records each format-specific flag given, with its side and formats', () => {
    const plan = resolvePlan('convert', [IN], {
      output: data('o.csv'),
      id: 'id',
      channels: 'a',
      keep: 't',
      delimiter: ';',
      precision: '5',
      outputDelimiter: 'tab',
      compression: 'lz4',
      outputLayout: 'long',
      dtype: 'float64',
      header: false,
    });
    expect(plan.formatFlags).toEqual([
      { flag: '--id', side: 'input', formats: TABLES },
      { flag: '--channels', side: 'input', formats: TABLES },
      { flag: '--keep', side: 'input', formats: TABLES },
      { flag: '--delimiter', side: 'input', formats: TEXT },
      { flag: '--precision', side: 'output', formats: TEXT },
      { flag: '--output-delimiter', side: 'output', formats: TEXT },
      { flag: '--compression', side: 'output', formats: COLUMNAR },
      { flag: '--output-layout', side: 'output', formats: COLUMNAR },
      { flag: '--dtype', side: 'output', formats: ['npy', 'arrow', 'arrows', 'parquet'] },
      { flag: '--no-header', side: 'input', formats: TEXT },
    ]);
  });

  it('--id alone is an input flag for the table formats; --layout and --num-channels too', () => {
    expect(resolvePlan('normalize', [IN], { id: 'sid' }).formatFlags).toEqual([{ flag: '--id', side: 'input', formats: TABLES }]);
    expect(resolvePlan('normalize', [IN], { layout: 'wide', numChannels: '2' }).formatFlags).toEqual([
      { flag: '--layout', side: 'input', formats: TABLES },
      { flag: '--num-channels', side: 'input', formats: TEXT },
    ]);
  });

  it('flags not given, and --header (the default), are not recorded', () => {
    expect(resolvePlan('normalize', [IN], { header: true, eps: '1e-3', nan: 'ignore' }).formatFlags).toEqual([]);
  });
});

describe('resolvePlan: the affine transform', () => {
  it('a --stats file holding weight and bias is the affine, unless --no-affine', () => {
    const stats = json(withAffine);
    const plan = resolvePlan('apply', [IN], { stats });
    expect(plan.affine).toBe(plan.stats);
    expect(plan.affine).toMatchObject({ hasAffine: true, weight: [1.5, 2], bias: [0.1, -0.2] });
    const without = resolvePlan('apply', [IN], { stats, affine: false });
    expect(without.affine).toBeUndefined();
    expect(without.stats).toMatchObject({ runningMean: [0.5, -1], weight: [1.5, 2] });
    // In training too (--stats as the starting point).
    expect(resolvePlan('normalize', [IN], { stats }).affine).toMatchObject({ weight: [1.5, 2] });
  });

  it('a --stats file without weight and bias gives no affine', () => {
    expect(resolvePlan('apply', [IN], { stats: json(plain) }).affine).toBeUndefined();
  });

  it('--affine FILE is the affine, over the weight and bias of --stats', () => {
    const stats = json(withAffine);
    const affine = json({ weight: [3, 4], bias: [5, 6] });
    const plan = resolvePlan('apply', [IN], { stats, affine });
    expect(plan.affine).toMatchObject({ file: affine, weight: [3, 4], bias: [5, 6] });
    expect(resolvePlan('normalize', [IN], { affine }).affine).toMatchObject({ weight: [3, 4] });
  });

  it('a state_dict layer picked with --stats-key gives its running statistics and its affine', () => {
    const stats = json({
      'enc.norm.running_mean': [1],
      'enc.norm.running_var': [2],
      'enc.norm.weight': [3],
      'enc.norm.bias': [4],
      'dec.norm.running_mean': [5],
      'dec.norm.running_var': [6],
    });
    const plan = resolvePlan('apply', [IN], { stats, statsKey: 'enc.norm' });
    expect(plan.stats).toMatchObject({ prefix: 'enc.norm.', runningMean: [1], runningVar: [2] });
    expect(plan.affine).toMatchObject({ weight: [3], bias: [4] });
    expect(resolvePlan('apply', [IN], { stats, statsKey: 'dec.norm' }).affine).toBeUndefined();
  });
});
