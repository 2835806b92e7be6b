import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatHeader } from '../../src/formats/npy/header.js';
import { isOneLineError, tempDir, tsnorm } from '../helpers/cli.js';
import { xorshift32 } from '../helpers/random.js';

// Shards fitted one by one, then merged, give what one fit over all shards in order gives.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const file = (name: string) => path.join(tmp.dir, name);
const json = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));

/** A float64 NPY shard of n instances, 3 channels, 12 steps; some values missing when `gaps`. */
function shard(name: string, n: number, seed: number, gaps = false): string {
  const next = xorshift32(seed);
  const values = Float64Array.from({ length: n * 3 * 12 }, (_, i) => {
    const u = next() / 2 ** 32;
    // Channel 1 of the first two instances missing whole (so a batch of 2 has no value for it:
    // --nan ignore leaves the channel out of that update), and a few single values.
    const series = Math.floor(i / 12);
    if (gaps && ((series % 3 === 1 && series < 6) || i % 29 === 0)) return NaN;
    return (u - 0.5) * 4 + (Math.floor(i / 12) % 3) * 10 + seed;
  });
  const f = file(name);
  fs.writeFileSync(f, Buffer.concat([formatHeader('<f8', [n, 3, 12]), Buffer.from(values.buffer)]));
  return f;
}

function relativeError(a: number[], b: number[]): number {
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.max(Math.abs(x), 1e-300)));
}

const sizes = [5, 3, 8, 1, 6, 4, 7];
const shards = sizes.map((n, k) => shard(`shard${k}.npy`, n, 100 + k));
const gapped = sizes.map((n, k) => shard(`gapped${k}.npy`, n, 200 + k, true));

describe('stats merge equals one fit over the shards in order', () => {
  const cases: [string, string[]][] = [
    ['momentum 0.1, whole files', ['--momentum', '0.1']],
    ['momentum 0.3, batches of 2', ['--momentum', '0.3', '--batch-size', '2']],
    ['momentum 1, batches of 3', ['--momentum', '1', '--batch-size', '3']],
    ['cumulative, whole files', ['--momentum', 'cumulative']],
    ['cumulative, batches of 2', ['--momentum', 'cumulative', '--batch-size', '2']],
    ["fit's default (cumulative, an update per instance)", []],
  ];
  for (const [label, flags] of cases) {
    it.each([1, 2, 3, 7])(`${label}: %i shard(s)`, (count) => {
      const used = shards.slice(0, count);
      const whole = file(`whole-${label.length}-${count}.json`);
      expect(tsnorm(['fit', ...used, '--save-stats', whole, ...flags]).status).toBe(0);
      const parts = used.map((s, k) => {
        const out = file(`part-${label.length}-${count}-${k}.json`);
        expect(tsnorm(['fit', s, '--save-stats', out, ...flags]).status).toBe(0);
        return out;
      });
      const merged = file(`merged-${label.length}-${count}.json`);
      const r = tsnorm(['stats', 'merge', ...parts, '-o', merged]);
      expect(r.stderr).toBe('');
      const want = json(whole);
      const got = json(merged);
      expect(relativeError(got.running_mean, want.running_mean)).toBeLessThanOrEqual(1e-12);
      expect(relativeError(got.running_var, want.running_var)).toBeLessThanOrEqual(1e-12);
      expect(got.num_batches_tracked).toBe(want.num_batches_tracked);
      expect(got.momentum).toEqual(want.momentum);
      // The values' sketches add up count for count.
      expect(want.sketch.channels).toHaveLength(want.num_features);
      expect(got.sketch).toEqual(want.sketch);
    });
  }

  it('with --nan ignore and whole series missing (per-channel update counts)', () => {
    for (const flags of [['--momentum', '0.2', '--batch-size', '2'], []]) {
      const whole = file(`gap-whole-${flags.length}.json`);
      expect(tsnorm(['fit', ...gapped, '--save-stats', whole, '--nan', 'ignore', ...flags]).status).toBe(0);
      const parts = gapped.map((s, k) => {
        const out = file(`gap-part-${flags.length}-${k}.json`);
        expect(tsnorm(['fit', s, '--save-stats', out, '--nan', 'ignore', ...flags]).status).toBe(0);
        return out;
      });
      const merged = file(`gap-merged-${flags.length}.json`);
      expect(tsnorm(['stats', 'merge', ...parts, '-o', merged]).status).toBe(0);
      const want = json(whole);
      const got = json(merged);
      expect(want.mean_updates).toBeDefined();
      expect(relativeError(got.running_mean, want.running_mean)).toBeLessThanOrEqual(1e-12);
      expect(relativeError(got.running_var, want.running_var)).toBeLessThanOrEqual(1e-12);
      expect(got.mean_updates).toEqual(want.mean_updates);
      expect(got.sketch).toEqual(want.sketch);
    }
  });

  it('is associative: merging merges gives the same', () => {
    const parts = shards.slice(0, 4).map((s, k) => {
      const out = file(`assoc-${k}.json`);
      expect(tsnorm(['fit', s, '--save-stats', out, '--momentum', '0.2']).status).toBe(0);
      return out;
    });
    const left = file('assoc-left.json');
    const right = file('assoc-right.json');
    const all = file('assoc-all.json');
    const nested = file('assoc-nested.json');
    expect(tsnorm(['stats', 'merge', parts[0]!, parts[1]!, '-o', left]).status).toBe(0);
    expect(tsnorm(['stats', 'merge', parts[2]!, parts[3]!, '-o', right]).status).toBe(0);
    expect(tsnorm(['stats', 'merge', left, right, '-o', nested]).status).toBe(0);
    expect(tsnorm(['stats', 'merge', ...parts, '-o', all]).status).toBe(0);
    expect(relativeError(json(nested).running_mean, json(all).running_mean)).toBeLessThanOrEqual(1e-12);
    expect(relativeError(json(nested).running_var, json(all).running_var)).toBeLessThanOrEqual(1e-12);
    expect(json(nested).sketch).toEqual(json(all).sketch);
  });

  it('a shard that continued from --stats merges as the fit it was', () => {
    const base = file('cont-base.json');
    expect(tsnorm(['fit', shards[0]!, '--save-stats', base, '--momentum', '0.1']).status).toBe(0);
    // The second shard continues from the first's file (as a fit resumed elsewhere would).
    const second = file('cont-second.json');
    expect(tsnorm(['fit', shards[1]!, '--stats', base, '--save-stats', second]).status).toBe(0);
    const whole = file('cont-whole.json');
    expect(tsnorm(['fit', shards[0]!, shards[1]!, '--save-stats', whole, '--momentum', '0.1']).status).toBe(0);
    const merged = file('cont-merged.json');
    expect(tsnorm(['stats', 'merge', base, second, '-o', merged]).status).toBe(0);
    expect(relativeError(json(merged).running_mean, json(whole).running_mean)).toBeLessThanOrEqual(1e-12);
    // The second file's sketch holds the first's values too; the merge takes its start away.
    expect(json(second).start_sketch).toEqual(json(base).sketch);
    expect(json(merged).sketch).toEqual(json(whole).sketch);
    expect(json(merged).start_sketch).toBeUndefined();
  });

  it('a fit that continues a stats file without a sketch writes none, and a merge with it has none', () => {
    const old = file('old-style.json');
    const full = json(file('cont-base.json'));
    delete full.sketch;
    fs.writeFileSync(old, JSON.stringify(full));
    const next = file('after-old.json');
    expect(tsnorm(['fit', shards[1]!, '--stats', old, '--save-stats', next]).status).toBe(0);
    expect(json(next).sketch).toBeUndefined();
    const merged = file('old-merged.json');
    expect(tsnorm(['stats', 'merge', old, next, '-o', merged]).status).toBe(0);
    expect(json(merged).sketch).toBeUndefined();
  });
});

describe('stats merge refuses files that do not belong together', () => {
  const fitted = (name: string, extra: string[] = []): string => {
    const out = file(name);
    expect(tsnorm(['fit', shards[0]!, '--save-stats', out, '--momentum', '0.1', ...extra]).status).toBe(0);
    return out;
  };
  const refused = (args: string[], mention: string) => {
    const r = tsnorm(['stats', 'merge', ...args, '-o', file('never.json')]);
    expect(r.status).toBe(2);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toContain(mention);
    expect(fs.existsSync(file('never.json'))).toBe(false);
  };

  it('a stats file named as data (x.csv, x.npy) is refused before anything is written, for merge and for fit', () => {
    const a = fitted('n-a.json');
    for (const name of ['merged.csv', 'merged.npy']) {
      const r = tsnorm(['stats', 'merge', a, a, '-o', file(name)]);
      expect(r.status).toBe(2);
      expect(r.stderr.toString()).toBe(
        `tsnorm: -o ${file(name)}: a stats file is JSON, and this name says ${name.endsWith('csv') ? 'CSV' : 'NPY'}; name it .json\n`,
      );
      expect(fs.existsSync(file(name))).toBe(false);
    }
    const r = tsnorm(['fit', shards[0]!, '--save-stats', file('fit.arrow')]);
    expect(r.stderr.toString()).toBe(`tsnorm: --save-stats ${file('fit.arrow')}: a stats file is JSON, and this name says ARROW; name it .json\n`);
    expect(r.status).toBe(2);
    expect(fs.existsSync(file('fit.arrow'))).toBe(false);
  });

  it('another eps, another momentum', () => {
    refused([fitted('r-a.json'), fitted('r-b.json', ['--eps', '1e-3'])], 'eps');
    const cumulative = file('r-c.json');
    expect(tsnorm(['fit', shards[0]!, '--save-stats', cumulative]).status).toBe(0);
    refused([fitted('r-d.json'), cumulative], 'momentum');
  });

  it('another channel count, other channel names', () => {
    const two = file('two-channels.json');
    fs.writeFileSync(
      two,
      JSON.stringify({
        ...json(fitted('r-e.json')),
        num_features: 2,
        running_mean: [0, 0],
        running_var: [1, 1],
        start_mean: [0, 0],
        start_var: [1, 1],
        sketch: undefined,
      }),
    );
    refused([fitted('r-f.json'), two], 'channel count');
    const named = (names: string[], f: string) => {
      fs.writeFileSync(file(f), JSON.stringify({ ...json(fitted(`${f}.src`)), channels: names }));
      return file(f);
    };
    refused([named(['a', 'b', 'c'], 'n1.json'), named(['a', 'b', 'x'], 'n2.json')], 'channels');
  });

  it('a file that does not say where its fit started, after the first', () => {
    const plain = file('plain.json');
    const s = json(fitted('r-g.json'));
    fs.writeFileSync(plain, JSON.stringify({ running_mean: s.running_mean, running_var: s.running_var, momentum: 0.1 }));
    refused([fitted('r-h.json'), plain], 'does not say where its fit started');
  });
});
