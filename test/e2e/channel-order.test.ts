import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, tsnorm } from '../helpers/cli.js';

// --channels in another order than the columns': each channel's values stay in its own column,
// in every pair of table formats (the blocks hold channels in --channels order, the outputs keep
// the input's column order).

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const file = (name: string) => path.join(tmp.dir, name);
const CSV = 'id,a,t,b\nx,1,0,10\nx,2,1,20\nx,3,2,40\ny,5,0,-1\ny,7,1,-3\n';

describe('--channels b,a', () => {
  fs.writeFileSync(file('in.csv'), CSV);
  for (const to of ['arrow', 'parquet']) expect(tsnorm(['convert', file('in.csv'), '--id', 'id', '--keep', 't', '-o', file(`in.${to}`)]).status).toBe(0);

  it.each(['csv', 'arrow', 'parquet'].flatMap((from) => ['csv', 'arrow', 'arrows', 'parquet'].map((to) => [from, to] as const)))(
    'convert %s to %s changes no column',
    (from, to) => {
      const out = file(`out-${from}.${to}`);
      const r = tsnorm(['convert', file(`in.${from}`), '--id', 'id', '--keep', 't', '--channels', 'b,a', '-o', out]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const back = tsnorm(['convert', out, '--id', 'id', '--keep', 't', '--to', 'csv', ...(to === 'arrows' ? ['--from', 'arrows'] : [])]);
      expect(back.stdout.toString()).toBe(CSV);
    },
  );

  it('normalize: each column normalized with its own statistics, in every format', () => {
    const want = tsnorm(['normalize', file('in.csv'), '--id', 'id', '--keep', 't']).stdout.toString();
    for (const from of ['csv', 'arrow', 'parquet']) {
      const r = tsnorm(['normalize', file(`in.${from}`), '--id', 'id', '--keep', 't', '--channels', 'b,a', '--to', 'arrows']);
      const text = tsnorm(['convert', '-', '--from', 'arrows', '--id', 'id', '--keep', 't', '--to', 'csv'], { input: r.stdout }).stdout.toString();
      expect(text, from).toBe(want);
    }
  });
});
