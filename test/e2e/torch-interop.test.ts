import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir, tsnorm } from '../helpers/cli.js';
import { maxRelativeError, readNpy } from '../helpers/npy.js';

// torch and tsnorm, both ways (fixtures/torch/, written by fixtures/generate.py with torch 1.13).

const dir = path.join(FIXTURES, 'torch');
const at = (name: string) => path.join(dir, name);
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const json = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;

describe('torch to tsnorm', () => {
  it("apply with a torch state_dict (running stats, weight, bias) gives torch's eval output", async () => {
    const out = path.join(tmp.dir, 'from-torch.npy');
    const sd = at('torch_state_dict.json');
    const r = tsnorm(['apply', at('input.npy'), '--stats', sd, '--affine', sd, '-o', out]);
    expect(r.stderr.toString()).toBe('');
    const want = await readNpy(at('torch_state_dict_eval.npy'));
    const got = await readNpy(out);
    expect(got.shape).toEqual(want.shape);
    expect(maxRelativeError(got.data, want.data)).toBeLessThan(1e-12);
    // The affine parameters count: without them the output differs.
    const plain = path.join(tmp.dir, 'from-torch-plain.npy');
    expect(tsnorm(['apply', at('input.npy'), '--stats', sd, '--no-affine', '-o', plain]).status).toBe(0);
    expect(maxRelativeError((await readNpy(plain)).data, want.data)).toBeGreaterThan(1e-3);
  });
});

describe('tsnorm to torch', () => {
  it('the stats file torch loaded is the one tsnorm fit writes today', () => {
    const out = path.join(tmp.dir, 'stats.json');
    expect(tsnorm(['fit', at('input.npy'), '--affine', at('affine.json'), '--save-stats', out]).status).toBe(0);
    const now = json(out);
    const committed = json(at('tsnorm_stats.json'));
    expect(Object.keys(now)).toEqual(Object.keys(committed));
    for (const [key, value] of Object.entries(committed)) {
      if (Array.isArray(value)) expect(maxRelativeError(now[key] as number[], value as number[]), key).toBeLessThan(1e-12);
      else expect(now[key], key).toEqual(value);
    }
  });

  it("torch's eval output with the loaded stats file equals apply", async () => {
    const out = path.join(tmp.dir, 'to-torch.npy');
    const stats = at('tsnorm_stats.json');
    expect(tsnorm(['apply', at('input.npy'), '--stats', stats, '-o', out]).status).toBe(0);
    const want = await readNpy(at('tsnorm_stats_eval.npy'));
    expect(maxRelativeError((await readNpy(out)).data, want.data)).toBeLessThan(1e-12);
  });
});
