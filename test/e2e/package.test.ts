import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstanceNorm1d } from '../../src/index.js';
import { ROOT, tempDir } from '../helpers/cli.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// The package as a user gets it: `npm pack`, installed into an empty project.
describe('the packed tarball', () => {
  const tmp = tempDir();
  beforeAll(() => {
    const tgz = execFileSync(npm, ['pack', '--silent', '--pack-destination', tmp.dir], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    fs.writeFileSync(path.join(tmp.dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', path.join(tmp.dir, tgz)], { cwd: tmp.dir });
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it('imports InstanceNorm1d from "tsnorm" and computes what the source computes', () => {
    const script = `
      import { InstanceNorm1d } from 'tsnorm';
      const m = new InstanceNorm1d(2, { eps: 1e-5, momentum: 0.1, affine: false, trackRunningStats: true });
      const data = Float32Array.from({ length: 2 * 2 * 5 }, (_, i) => Math.sin(i) * 3 + i);
      const y = m.forward({ shape: [2, 2, 5], data });
      console.log(JSON.stringify({ ctor: y.data.constructor.name, y: Array.from(y.data), s: m.stateDict() }));
    `;
    fs.writeFileSync(path.join(tmp.dir, 'use.mjs'), script);
    const got = JSON.parse(execFileSync(process.execPath, ['use.mjs'], { cwd: tmp.dir, encoding: 'utf8' }));
    const m = new InstanceNorm1d(2, { eps: 1e-5, momentum: 0.1, affine: false, trackRunningStats: true });
    const data = Float32Array.from({ length: 20 }, (_, i) => Math.sin(i) * 3 + i);
    const y = m.forward({ shape: [2, 2, 5], data });
    expect(got.ctor).toBe('Float32Array');
    expect(got.y).toEqual(Array.from(y.data));
    expect(got.s).toEqual(m.stateDict());
  });

  it('ships type declarations a strict TypeScript consumer compiles against', () => {
    fs.writeFileSync(
      path.join(tmp.dir, 'use.ts'),
      `
      import { InstanceNorm1d, type StateDict } from 'tsnorm';
      const m = new InstanceNorm1d(3, { affine: true });
      const y: { shape: number[]; data: Float64Array } = m.forward({ shape: [3, 4], data: new Float64Array(12) });
      const s: StateDict = m.stateDict();
      m.loadStateDict(s);
      export { y };
    `,
    );
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    fs.writeFileSync(
      path.join(tmp.dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [] },
        files: ['use.ts'],
      }),
    );
    const out = execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: tmp.dir, encoding: 'utf8' });
    expect(out.trim()).toBe('');
  });

  it('npm install -g: the tsnorm command and its man page', () => {
    const prefix = path.join(tmp.dir, 'global');
    const tgz = fs.readdirSync(tmp.dir).find((f) => f.endsWith('.tgz'))!;
    execFileSync(npm, ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--silent', path.join(tmp.dir, tgz)], {
      cwd: tmp.dir,
    });
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    expect(execFileSync(path.join(prefix, 'bin/tsnorm'), ['--version'], { encoding: 'utf8', cwd: tmp.dir }).trim()).toBe(version);
    const out = path.join(tmp.dir, 'global-out.npy');
    execFileSync(path.join(prefix, 'bin/tsnorm'), ['normalize', path.join(ROOT, 'fixtures/example.npy'), '-o', out]);
    expect(fs.statSync(out).size).toBe(fs.statSync(path.join(ROOT, 'fixtures/example.npy')).size);
    // apache-arrow is a script of its own beside the bundle: the tarball carries it.
    const arrow = path.join(tmp.dir, 'global-out.arrow');
    execFileSync(path.join(prefix, 'bin/tsnorm'), ['convert', path.join(ROOT, 'fixtures/example.npy'), '-o', arrow]);
    expect(fs.readFileSync(arrow).subarray(0, 6).toString()).toBe('ARROW1');
    expect(fs.readFileSync(path.join(prefix, 'share/man/man1/tsnorm.1'), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'man/tsnorm.1'), 'utf8'));
  }, 120_000);

  it('leaves the single executable out of the tarball', () => {
    // As after `npm run build:exe` (placeholders where it has not run).
    const made = ['dist/tsnorm', 'dist/exe/tsnorm.cjs'].filter((f) => !fs.existsSync(path.join(ROOT, f)));
    for (const f of made) {
      fs.mkdirSync(path.dirname(path.join(ROOT, f)), { recursive: true });
      fs.writeFileSync(path.join(ROOT, f), 'placeholder');
    }
    let listed: string;
    try {
      listed = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    } finally {
      for (const f of made) fs.rmSync(path.join(ROOT, f));
    }
    const files = (JSON.parse(listed) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toContain('man/tsnorm.1');
    expect(files).toContain('bin/tsnorm.js');
    expect(files.filter((f) => f === 'dist/tsnorm' || f.startsWith('dist/exe/'))).toEqual([]);
  }, 60_000);

  it('installs the tsnorm command', () => {
    const bin = path.join(tmp.dir, 'node_modules/.bin/tsnorm');
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });
});
