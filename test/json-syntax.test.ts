/**
 * The JSON syntax error locator against V8's own JSON parser, the independent reference: the same
 * texts are refused, and where V8's message names a position ("at position N", "Unexpected end
 * of JSON input", "Unexpected token 'x'") the locator names the same one. Then tsnorm's wording of
 * each kind of error, which must not depend on the Node that runs it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findJsonSyntaxError } from '../src/json-syntax.js';
import { RUNS } from './props/support.js';

/** What V8 says of a text: accepted, or the position its message names (null: none named). */
function v8Verdict(text: string): { ok: true } | { ok: false; position: number | null; token: string | null } {
  try {
    JSON.parse(text);
    return { ok: true };
  } catch (err) {
    const message = (err as Error).message;
    const at = /at position (\d+)/.exec(message);
    if (at) return { ok: false, position: Number(at[1]), token: null };
    if (/Unexpected end of JSON input/.test(message)) return { ok: false, position: text.length, token: null };
    const token = /^Unexpected token '(.+?)', /su.exec(message);
    return { ok: false, position: null, token: token ? token[1]! : null };
  }
}

/** Texts near JSON: valid documents with characters inserted, deleted or replaced, or cut short. */
const nearJson = fc
  .tuple(
    fc.json({ maxDepth: 3 }),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom('insert', 'delete', 'replace', 'cut'),
        fc.constantFrom(...'{}[]:,"\\ \n\t-+.0123456789eEtrufalsnNI\u0001\u00e9\ud83d\ude00xu/'),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([json, edits]) => {
    let text = json;
    for (const [at, kind, ch] of edits) {
      const i = text.length === 0 ? 0 : at % (text.length + 1);
      if (kind === 'insert') text = text.slice(0, i) + ch + text.slice(i);
      else if (kind === 'delete') text = text.slice(0, i) + text.slice(i + 1);
      else if (kind === 'replace') text = text.slice(0, i) + ch + text.slice(i + 1);
      else text = text.slice(0, i);
    }
    return text;
  });

describe('findJsonSyntaxError against V8', () => {
  it('accepts every JSON text', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 5 }), (text) => {
        expect(findJsonSyntaxError(text)).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses what V8 refuses, at the position V8 names', () => {
    fc.assert(
      fc.property(nearJson, (text) => {
        const v8 = v8Verdict(text);
        const found = findJsonSyntaxError(text);
        if (v8.ok) {
          expect(found).toBeUndefined();
          return;
        }
        expect(found).toBeDefined();
        if (v8.position !== null) expect(found!.offset).toBe(v8.position);
        if (v8.token !== null) expect(text.charAt(found!.offset)).toBe(v8.token); // V8 names a UTF-16 unit
      }),
      { numRuns: RUNS * 20 },
    );
  });

  it('takes nesting a million deep without a stack overflow', () => {
    const deep = '['.repeat(1_000_000);
    expect(findJsonSyntaxError(deep)).toMatchObject({ offset: 1_000_000, what: 'the file ends before the JSON value does' });
    expect(findJsonSyntaxError(`${deep}${']'.repeat(1_000_000)}`)).toBeUndefined();
  });
});

describe('findJsonSyntaxError wording', () => {
  const cases: [string, string][] = [
    ['', '1:1 the file holds no JSON value'],
    [' \n ', '2:2 the file holds no JSON value'],
    ['{"running_mean": [0, NaN, 0]}', "1:22 expected a value, found 'N'"],
    ['{"a": [0.1, 0.2], "running_va', '1:30 the file ends inside a string'],
    ['{"weight": [1, 1, 1], "bias": [0, 0', '1:36 the file ends before the JSON value does'],
    ['{"a":1}x', "1:8 unexpected 'x' after the JSON value"],
    ['{"a":\n 1,\n}', "3:1 expected a property name in double quotes, found '}'"],
    ['[1 2]', "1:4 expected ',' or ']' after an array element, found '2'"],
    ['{"a":1 "b":2}', "1:8 expected ',' or '}' after a property's value, found '\"'"],
    ['{"a" 1}', "1:6 expected ':' after a property name, found '1'"],
    ['"abc\\q"', "1:6 'q' cannot follow '\\' in a string"],
    ['"\\u12x4"', "1:6 expected four hexadecimal digits after '\\u', found 'x'"],
    ['"a\tb"', '1:3 U+0009 inside a string (control characters must be escaped)'],
    ['[01]', '1:3 a number may not start with 0 followed by more digits'],
    ['[-]', "1:3 expected a digit after '-', found ']'"],
    ['[1.]', "1:4 expected a digit after '.', found ']'"],
    ['[1e+]', "1:5 expected a digit in the exponent, found ']'"],
    ['[.5]', "1:2 expected a value, found '.'"],
    ['[truex]', "1:6 expected ',' or ']' after an array element, found 'x'"],
    ['[nul]', "1:5 expected 'null', found ']'"],
    ['tru', '1:4 the file ends before the JSON value does'],
    ['\ufeff{}', '1:1 expected a value, found U+FEFF'],
    ['["\ud83d\ude00", x]', "1:7 expected a value, found 'x'"],
    ['[1,\u00a0 2]', '1:4 expected a value, found U+00A0'],
    ['[1, ]', "1:5 expected a value, found ']'"],
    ['[1] [2]', "1:5 unexpected '[' after the JSON value"],
  ];
  it.each(cases)('%j: %s', (text, expected) => {
    const found = findJsonSyntaxError(text);
    expect(found && `${found.line}:${found.column} ${found.what}`).toBe(expected);
    // The position agrees with V8's where V8 names one.
    const v8 = v8Verdict(text);
    expect(v8.ok).toBe(false);
    if (!v8.ok && v8.position !== null) expect(found!.offset).toBe(v8.position);
  });
});
