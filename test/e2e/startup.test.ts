import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURES, ROOT, tempDir } from '../helpers/cli.js';

// Start-up stays light: each format's modules and libraries are initialised when that format is
// used, and the bundle comes with a code cache.

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/**
 * What a run of the CLI initialises: the bundle's modules as esbuild names them
 * ("node_modules/apache-arrow/...", "src/formats/csv/...") and the packages it require()s at run
 * time (the native codecs). The CLI runs from a copy of bin/ and of the bundle whose module
 * wrappers (__esm, __commonJS) log each module the first time it is initialised.
 */
function packagesLoaded(args: string[]): Set<string> {
  const log = path.join(tmp.dir, `init-${Math.random().toString(36).slice(2)}.log`);
  const copy = path.join(tmp.dir, 'copy');
  if (!fs.existsSync(copy)) {
    fs.mkdirSync(path.join(copy, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(copy, 'dist/bundle'), { recursive: true });
    for (const f of ['tsnorm.js', 'package.json']) fs.copyFileSync(path.join(ROOT, 'bin', f), path.join(copy, 'bin', f));
    // The bundle and apache-arrow's script beside it (scripts/esbuild-plugins.mjs arrowChunk).
    for (const script of ['tsnorm.cjs', 'apache-arrow.cjs']) {
      const bundle = fs.readFileSync(path.join(ROOT, 'dist/bundle', script), 'utf8');
      const logged = "(require('node:fs').appendFileSync(process.env.INIT_LOG, NAME + '\\n'), 0)";
      const patched = bundle
        .replace(
          'return fn && (res = (0, fn[__getOwnPropNames(fn)[0]])(fn = 0)), res;',
          `return fn && (${logged.replace('NAME', '__getOwnPropNames(fn)[0]')}, res = (0, fn[__getOwnPropNames(fn)[0]])(fn = 0)), res;`,
        )
        .replace(
          'return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;',
          `return mod || (${logged.replace('NAME', '__getOwnPropNames(cb)[0]')}, (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod)), mod.exports;`,
        );
      expect(patched.split('process.env.INIT_LOG').length, `${script}'s module wrappers as this test knows them`).toBe(3);
      fs.writeFileSync(path.join(copy, 'dist/bundle', script), patched);
    }
  }
  // require() (the native codecs) through Module._load; NODE_PATH finds them from the copy.
  const register = path.join(tmp.dir, 'register.cjs');
  fs.writeFileSync(
    register,
    `const fs = require('node:fs');
const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (!request.startsWith('.') && !request.startsWith('/') && !request.startsWith('node:')) fs.appendFileSync(process.env.INIT_LOG, 'require:' + request + '\\n');
  return load.call(this, request, ...rest);
};
`,
  );
  const r = spawnSync(process.execPath, ['--require', register, path.join(copy, 'bin/tsnorm.js'), ...args], {
    env: { ...process.env, INIT_LOG: log, NODE_PATH: path.join(ROOT, 'node_modules') },
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
  const names = new Set<string>();
  for (const line of lines) {
    if (line.startsWith('require:'))
      names.add(
        line
          .slice('require:'.length)
          .split('/')
          .slice(0, line.includes('@') ? 2 : 1)
          .join('/'),
      );
    const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (pkg) names.add(pkg[1]!);
  }
  return names;
}

describe('the code cache', () => {
  it('is accepted by this Node (a run deserializes instead of compiling)', () => {
    const r = spawnSync(
      process.execPath,
      ['-e', `const { loadBundle } = require(${JSON.stringify(BIN)}); const b = loadBundle(); console.log(b.script.cachedDataRejected)`],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('false');
  });

  it('apache-arrow is a script of its own, loaded by an Arrow job only, with its own accepted cache', () => {
    const job = (args: string[]) =>
      `b.main(${JSON.stringify(args)}).then((code) => console.log(code, JSON.stringify([...b.chunks].map(([name, s]) => [name, s.cachedDataRejected]))))`;
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['-e', `const { loadBundle } = require(${JSON.stringify(BIN)}); const b = loadBundle(); ${job(args)}`], { encoding: 'utf8' });
    const csv = run([path.join(FIXTURES, 'csv/long_quoted/input.csv'), '--id', 'device', '--keep', 'ts', '-o', path.join(tmp.dir, 'chunk.csv')]);
    expect(csv.stderr).toBe('');
    expect(csv.stdout.trim()).toBe('0 []');
    const arrow = run([path.join(FIXTURES, 'example.npy'), '-o', path.join(tmp.dir, 'chunk.arrow')]);
    expect(arrow.stderr).toBe('');
    expect(arrow.stdout.trim()).toBe('0 [["apache-arrow.cjs",false]]');
    // The reading commands too (each job tunes V8 before it reads: src/cli/jit.ts; the cache is made so).
    const inspect = run(['inspect', path.join(FIXTURES, 'arrow/long_basic.arrow'), '--id', 'item', '--keep', 't', '--json']);
    expect(inspect.stdout.trim().split('\n').pop()).toBe('0 [["apache-arrow.cjs",false]]');
  });

  it('a missing or foreign cache only costs time: the CLI still runs', () => {
    for (const cache of [null, Buffer.from('not a V8 code cache')]) {
      const dir = fs.mkdtempSync(path.join(tmp.dir, 'nocache-'));
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.mkdirSync(path.join(dir, 'dist/bundle'), { recursive: true });
      for (const f of ['tsnorm.js', 'package.json']) fs.copyFileSync(path.join(ROOT, 'bin', f), path.join(dir, 'bin', f));
      for (const script of ['tsnorm.cjs', 'apache-arrow.cjs']) {
        fs.copyFileSync(path.join(ROOT, 'dist/bundle', script), path.join(dir, 'dist/bundle', script));
        if (cache) fs.writeFileSync(path.join(dir, 'dist/bundle', `${script}.cache`), cache);
      }
      const r = spawnSync(process.execPath, [path.join(dir, 'bin/tsnorm.js'), path.join(FIXTURES, 'example.npy'), '--to', 'npy'], {
        env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
      });
      expect(r.stderr.toString()).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.length).toBe(fs.statSync(path.join(FIXTURES, 'example.npy')).size);
      // And an Arrow job, through apache-arrow's script.
      const arrow = spawnSync(
        process.execPath,
        [path.join(dir, 'bin/tsnorm.js'), 'convert', path.join(FIXTURES, 'example.npy'), '-o', path.join(dir, 'o.arrow')],
        { env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') } },
      );
      expect(arrow.stderr.toString()).toBe('');
      expect(arrow.status).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'o.arrow')).subarray(0, 6).toString()).toBe('ARROW1');
    }
  });

  it("without apache-arrow's script beside the bundle, an Arrow job uses the package from node_modules", () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'nochunk-'));
    const reference = path.join(dir, 'reference.arrow');
    expect(spawnSync(process.execPath, [BIN, 'convert', path.join(FIXTURES, 'example.npy'), '-o', reference]).status).toBe(0);
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, 'dist/bundle'), { recursive: true });
    for (const f of ['tsnorm.js', 'package.json']) fs.copyFileSync(path.join(ROOT, 'bin', f), path.join(dir, 'bin', f));
    for (const f of ['tsnorm.cjs', 'tsnorm.cjs.cache']) fs.copyFileSync(path.join(ROOT, 'dist/bundle', f), path.join(dir, 'dist/bundle', f));
    const r = spawnSync(process.execPath, [path.join(dir, 'bin/tsnorm.js'), 'convert', path.join(FIXTURES, 'example.npy'), '-o', path.join(dir, 'o.arrow')], {
      env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
    });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'o.arrow')).equals(fs.readFileSync(reference))).toBe(true);
  });
});

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
