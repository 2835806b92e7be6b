/**
 * Where a text stops being JSON, and why, in tsnorm's words. JSON.parse's messages are V8's and
 * change with it (Node 22 added "(line 1 column 36)", Node 20 names no position for an unexpected
 * token): a stats file must give the same one-line error on every Node, so the parse error is
 * located here, by a validator of RFC 8259 that is only run once JSON.parse has refused the text.
 * It keeps its own stack, so nesting a million arrays deep is no stack overflow.
 */

export interface JsonSyntaxError {
  /** Offset of the first character that cannot continue a JSON text (the text's length at its end). */
  offset: number;
  /** 1-based line and column (in characters) of that offset. */
  line: number;
  column: number;
  /** What is wrong there, e.g. `expected ',' or ']' after an array element, found 'x'`. */
  what: string;
}

const enum Expect {
  /** A value: at the start, after ':' and after ',' in an array. */
  Value,
  /** A value or ']': just after '['. */
  ValueOrClose,
  /** A property name: after ',' in an object. */
  Key,
  /** A property name or '}': just after '{'. */
  KeyOrClose,
  /** ':' after a property name. */
  Colon,
  /** ',' or the container's close after a value; at the top level, the end of the text. */
  AfterValue,
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** The first syntax error in `text`, or undefined when it is JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  /** Open containers: '[' or '{'. */
  const stack: string[] = [];
  let expect: Expect = Expect.Value;
  let i = 0;
  const fail = (at: number, what: string): JsonSyntaxError => located(text, at, what);
  const found = (at: number): string => (at >= text.length ? 'the end of the file' : describe(text, at));

  for (;;) {
    while (i < text.length && WHITESPACE.has(text.charCodeAt(i))) i++;
    if (i >= text.length) {
      if (expect === Expect.AfterValue && stack.length === 0) return undefined;
      return fail(i, text.trim() === '' ? 'the file holds no JSON value' : 'the file ends before the JSON value does');
    }
    const ch = text[i]!;
    switch (expect) {
      case Expect.AfterValue: {
        const open = stack[stack.length - 1];
        if (open === undefined) return fail(i, `unexpected ${found(i)} after the JSON value`);
        if (ch === ',') {
          expect = open === '[' ? Expect.Value : Expect.Key;
          i++;
        } else if ((ch === ']' && open === '[') || (ch === '}' && open === '{')) {
          stack.pop();
          i++;
        } else {
          return fail(
            i,
            open === '[' ? `expected ',' or ']' after an array element, found ${found(i)}` : `expected ',' or '}' after a property's value, found ${found(i)}`,
          );
        }
        continue;
      }
      case Expect.Colon:
        if (ch !== ':') return fail(i, `expected ':' after a property name, found ${found(i)}`);
        expect = Expect.Value;
        i++;
        continue;
      case Expect.Key:
      case Expect.KeyOrClose:
        if (ch === '}' && expect === Expect.KeyOrClose) {
          stack.pop();
          expect = Expect.AfterValue;
          i++;
          continue;
        }
        if (ch !== '"') return fail(i, `expected a property name in double quotes, found ${found(i)}`);
        {
          const end = scanString(text, i);
          if (typeof end !== 'number') return end;
          i = end;
        }
        expect = Expect.Colon;
        continue;
      case Expect.Value:
      case Expect.ValueOrClose: {
        if (ch === ']' && expect === Expect.ValueOrClose) {
          stack.pop();
          expect = Expect.AfterValue;
          i++;
          continue;
        }
        if (ch === '[' || ch === '{') {
          stack.push(ch);
          expect = ch === '[' ? Expect.ValueOrClose : Expect.KeyOrClose;
          i++;
          continue;
        }
        const end = ch === '"' ? scanString(text, i) : ch === '-' || isDigit(text.charCodeAt(i)) ? scanNumber(text, i) : scanLiteral(text, i);
        if (typeof end !== 'number') return end;
        i = end;
        expect = Expect.AfterValue;
        continue;
      }
    }
  }
}

/** The offset just past the string that opens at `start`, or the error inside it. */
function scanString(text: string, start: number): number | JsonSyntaxError {
  let i = start + 1;
  for (;;) {
    if (i >= text.length) return located(text, i, 'the file ends inside a string');
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return located(text, i, `${describe(text, i)} inside a string (control characters must be escaped)`);
    if (c !== 0x5c) {
      i++;
      continue;
    }
    // An escape: \" \\ \/ \b \f \n \r \t or \u and four hex digits.
    const e = text[i + 1];
    if (e === undefined) return located(text, i + 1, 'the file ends inside a string');
    if ('"\\/bfnrt'.includes(e)) {
      i += 2;
      continue;
    }
    if (e !== 'u') return located(text, i + 1, `${describe(text, i + 1)} cannot follow '\\' in a string`);
    for (let k = i + 2; k < i + 6; k++) {
      if (k >= text.length) return located(text, k, 'the file ends inside a string');
      if (!/[0-9a-fA-F]/.test(text[k]!)) return located(text, k, `expected four hexadecimal digits after '\\u', found ${describe(text, k)}`);
    }
    i += 6;
  }
}

/** The offset just past the number that starts at `start`, or the error inside it. */
function scanNumber(text: string, start: number): number | JsonSyntaxError {
  let i = start;
  const digits = (what: string): number | JsonSyntaxError => {
    if (!isDigit(text.charCodeAt(i)))
      return located(text, i, `expected a digit ${what}, found ${i >= text.length ? 'the end of the file' : describe(text, i)}`);
    while (isDigit(text.charCodeAt(i))) i++;
    return i;
  };
  if (text[i] === '-') i++;
  if (text[i] === '0') {
    i++;
    if (isDigit(text.charCodeAt(i))) return located(text, i, 'a number may not start with 0 followed by more digits');
  } else {
    const r = digits(start === i ? 'to start a number' : "after '-'");
    if (typeof r !== 'number') return r;
  }
  if (text[i] === '.') {
    i++;
    const r = digits("after '.'");
    if (typeof r !== 'number') return r;
  }
  if (text[i] === 'e' || text[i] === 'E') {
    i++;
    if (text[i] === '+' || text[i] === '-') i++;
    const r = digits('in the exponent');
    if (typeof r !== 'number') return r;
  }
  return i;
}

/** The offset just past `true`, `false` or `null` at `start`, or where the text leaves them. */
function scanLiteral(text: string, start: number): number | JsonSyntaxError {
  const word = ['true', 'false', 'null'].find((w) => w[0] === text[start]);
  if (word === undefined) return located(text, start, `expected a value, found ${describe(text, start)}`);
  for (let k = 1; k < word.length; k++) {
    if (start + k >= text.length) return located(text, start + k, 'the file ends before the JSON value does');
    if (text[start + k] !== word[k]) return located(text, start + k, `expected '${word}', found ${describe(text, start + k)}`);
  }
  return start + word.length;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** The character at `at` as a message shows it: 'x' when printable ASCII, else its code point. */
function describe(text: string, at: number): string {
  const cp = text.codePointAt(at)!;
  if (cp > 0x20 && cp < 0x7f) return `'${String.fromCodePoint(cp)}'`;
  if (cp === 0x20) return 'a space';
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function located(text: string, offset: number, what: string): JsonSyntaxError {
  let line = 1;
  let lineStart = 0;
  for (let k = text.indexOf('\n'); k !== -1 && k < offset; k = text.indexOf('\n', k + 1)) {
    line++;
    lineStart = k + 1;
  }
  // Columns count characters, not UTF-16 units: an emoji before the error is one column.
  let column = 1;
  for (let k = lineStart; k < offset; k++) {
    const c = text.charCodeAt(k);
    if (c < 0xdc00 || c > 0xdfff || k === lineStart || !isHighSurrogate(text.charCodeAt(k - 1))) column++;
  }
  return { offset, line, column, what };
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
