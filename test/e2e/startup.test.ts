import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURES, tempDir } from '../helpers/cli.js';

// Start-up stays light: each format's modules and libraries load when that format is used.

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/**
 * What a run of the CLI loads: package names imported or required, plus the marker `apache-arrow`
 * or `csv-parse` when a module holding that library's code is loaded (the build bundles them
 * into chunks of their own, found by the hook's resolved file URLs and their contents).
 */
function packagesLoaded(args: string[]): Set<string> {
  const log = path.join(tmp.dir, `resolved-${Math.random().toString(36).slice(2)}.log`);
  const hooks = path.join(tmp.dir, 'hooks.mjs');
  fs.writeFileSync(hooks, `import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (!specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.startsWith('file:')) fs.appendFileSync(process.env.RESOLVE_LOG, specifier + '\\n');
  if (resolved.url.startsWith('file:')) {
    const text = fs.readFileSync(new URL(resolved.url), 'utf8');
    if (text.includes('RecordBatchStreamWriter')) fs.appendFileSync(process.env.RESOLVE_LOG, 'apache-arrow\\n');
    if (text.includes('Invalid Opening Quote')) fs.appendFileSync(process.env.RESOLVE_LOG, 'csv-parse\\n');
  }
  return resolved;
}
`);
  // ESM imports through the hook; require() (the native codecs) through Module._load.
  const register = path.join(tmp.dir, 'register.mjs');
  fs.writeFileSync(register, `import fs from 'node:fs';
import Module, { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const load = Module._load;
Module._load = function (request, ...rest) {
  if (!request.startsWith('.') && !request.startsWith('/') && !request.startsWith('node:')) fs.appendFileSync(process.env.RESOLVE_LOG, request + '\\n');
  return load.call(this, request, ...rest);
};
`);
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, BIN, ...args], { env: { ...process.env, RESOLVE_LOG: log }, encoding: 'utf8' });
  expect(r.status).toBe(0);
  return new Set(fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').map((s) => s.split('/')[0]!.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!) : []);
}

describe('libraries load on first use', () => {
  it('--version loads no format library', () => {
    const loaded = packagesLoaded(['--version']);
    expect(loaded.has('apache-arrow')).toBe(false);
    expect(loaded.has('csv-parse')).toBe(false);
  });

  it('a CSV job does not load apache-arrow, an NPY job neither it nor the CSV parser', () => {
    const csv = packagesLoaded([path.join(FIXTURES, 'csv/long_quoted/input.csv'), '--id', 'device', '--keep', 'ts', '-o', path.join(tmp.dir, 'o.csv')]);
    expect(csv.has('apache-arrow')).toBe(false);
    expect(csv.has('csv-parse')).toBe(true);
    const npy = packagesLoaded([path.join(FIXTURES, 'example.npy'), '-o', path.join(tmp.dir, 'o.npy')]);
    expect(npy.has('apache-arrow')).toBe(false);
    expect(npy.has('csv-parse')).toBe(false);
  });

  it('an Arrow job loads apache-arrow, and a codec only for compressed data', () => {
    const arrow = packagesLoaded([path.join(FIXTURES, 'example.npy'), '-o', path.join(tmp.dir, 'o.arrow')]);
    expect(arrow.has('apache-arrow')).toBe(true);
    expect(arrow.has('lz4-napi')).toBe(false);
    expect(arrow.has('@toondepauw/node-zstd')).toBe(false);
    const lz4 = packagesLoaded([path.join(FIXTURES, 'example.npy'), '-o', path.join(tmp.dir, 'o2.arrow'), '--compression', 'lz4']);
    expect(lz4.has('lz4-napi')).toBe(true);
    expect(lz4.has('@toondepauw/node-zstd')).toBe(false);
    const zstdIn = packagesLoaded([path.join(FIXTURES, 'arrow/feather_zstd.arrow'), '--id', 'item', '--keep', 't', '-o', path.join(tmp.dir, 'o3.arrow')]);
    expect(zstdIn.has('@toondepauw/node-zstd')).toBe(true);
    expect(zstdIn.has('lz4-napi')).toBe(false);
  });
});
