import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { resolvePlan } from '../src/cli/resolve.js';
import { ERROR_CODES, type ErrorCode, InstanceNorm1d, TsnormError } from '../src/index.js';
import { openReader } from '../src/formats/registry.js';
import { openOutput } from '../src/io/byte-sink.js';
import { ROOT, tempDir } from './helpers/cli.js';

// Error codes: every error tsnorm raises carries one of the documented codes, and each code is
// what the kind of error it names gets.

/** The code of what `run` throws (it must throw a TsnormError). */
async function codeOf(run: () => unknown): Promise<ErrorCode | undefined> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(TsnormError);
    return (err as TsnormError).code;
  }
  throw new Error('no error');
}

describe('error codes', () => {
  it('every TsnormError the source raises names a documented code', () => {
    const missing: string[] = [];
    const walk = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.as.ts') ? [path.join(dir, e.name)] : [],
        );
    let count = 0;
    for (const file of walk(path.join(ROOT, 'src'))) {
      const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
      const visit = (node: ts.Node): void => {
        if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'TsnormError') {
          count++;
          const code = node.arguments?.[1];
          if (!code || !ts.isStringLiteral(code) || !Object.hasOwn(ERROR_CODES, code.text))
            missing.push(`${path.relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
    expect(count).toBeGreaterThan(200);
    expect(missing).toEqual([]);
  });

  it('docs/errors.md lists each code with its meaning', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
    for (const [code, meaning] of Object.entries(ERROR_CODES)) expect(doc, code).toContain(`| \`${code}\` | ${meaning} |`);
  });

  it('says what kind of error it is', async () => {
    const tmp = tempDir();
    try {
      const file = (name: string, bytes: string | Uint8Array): string => {
        fs.writeFileSync(path.join(tmp.dir, name), bytes);
        return path.join(tmp.dir, name);
      };
      const example = path.join(ROOT, 'fixtures/example.npy');
      expect(await codeOf(() => resolvePlan('normalize', [example], { numChannels: '2' }))).toBe('TSNORM_USAGE');
      expect(await codeOf(() => new InstanceNorm1d(3, { eps: -1 }))).toBe('TSNORM_PARAMS');
      expect(await codeOf(() => new InstanceNorm1d(3).forward({ data: new Float64Array(4), shape: [1, 2, 2] }))).toBe('TSNORM_DATA');
      expect(await codeOf(() => new InstanceNorm1d(1).forward({ data: new Float64Array(1), shape: [1, 1, 1] }))).toBe('TSNORM_DATA');
      const drain = async (f: string, options = {}): Promise<void> => {
        const { reader } = await openReader(f, options);
        try {
          for await (const _ of reader.blocks()) {
            /* read it all */
          }
        } finally {
          await reader.close();
        }
      };
      expect(await codeOf(() => drain(file('rag.csv', 'a,b\n1,2\n3\n')))).toBe('TSNORM_CSV');
      expect(await codeOf(() => drain(file('bad.npy', 'x'), { format: 'npy' }))).toBe('TSNORM_NPY');
      expect(await codeOf(() => drain(file('bad.arrow', 'ARROW1\0\0junk')))).toBe('TSNORM_ARROW');
      expect(await codeOf(() => resolvePlan('apply', [example], { stats: file('s.json', '{"running_mean":[0],"running_var":[-1]}') }))).toBe('TSNORM_PARAMS');
      expect(await codeOf(() => drain(path.join(tmp.dir, 'no-such.npy')))).toBe('TSNORM_IO');
      expect(
        await codeOf(async () =>
          (await openOutput('/dev/full')).write(new Uint8Array(1 << 16)).then(() => {
            throw new Error('wrote to /dev/full');
          }),
        ),
      ).toBe('TSNORM_IO');
    } finally {
      tmp.cleanup();
    }
  });
});
