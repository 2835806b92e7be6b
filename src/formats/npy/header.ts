/**
 * The NPY header (format versions 1.0, 2.0, 3.0): magic, version, header length, then a Python
 * dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (4, 3, 50), }. Pure functions.
 */

export const NPY_MAGIC = Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59); // \x93NUMPY

export interface NpyHeader {
  readonly version: 1 | 2 | 3;
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Byte offset of the first data byte. */
  readonly dataOffset: number;
}

/** Why a header could not be read: the caller adds the file name. */
export class NpyHeaderError extends Error {}

/** Bytes needed before the header dict can be parsed: magic, version and length. */
export const PREAMBLE_BYTES = 12;

/**
 * Longest header accepted, preamble included. numpy refuses headers over 10,000 bytes unless told
 * otherwise; 1 MiB is generous, and a declared length is checked before anything is allocated.
 */
export const MAX_HEADER_BYTES = 1 << 20;

/** Deepest nesting of ( [ { the header parser follows; numpy's headers need 2. */
export const MAX_HEADER_NESTING = 32;

/** Length of the whole header (preamble + dict), from its first 12 bytes. */
export function headerLength(preamble: Uint8Array): number {
  if (preamble.length < 10) throw new NpyHeaderError('file too short to be NPY (no header)');
  for (let i = 0; i < NPY_MAGIC.length; i++) {
    if (preamble[i] !== NPY_MAGIC[i]) throw new NpyHeaderError('not an NPY file (bad magic; expected \\x93NUMPY)');
  }
  const major = preamble[6]!;
  const minor = preamble[7]!;
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new NpyHeaderError(`unsupported NPY format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  if (major === 1) return 10 + (preamble[8]! | (preamble[9]! << 8));
  if (preamble.length < 12) throw new NpyHeaderError('file too short to be NPY (truncated header)');
  const total = 12 + (preamble[8]! | (preamble[9]! << 8) | (preamble[10]! << 16)) + preamble[11]! * 2 ** 24;
  if (total > MAX_HEADER_BYTES) throw new NpyHeaderError(`NPY header of ${total} bytes is implausibly large (at most ${MAX_HEADER_BYTES})`);
  return total;
}

export function parseHeader(bytes: Uint8Array): NpyHeader {
  const total = headerLength(bytes);
  if (bytes.length < total) throw new NpyHeaderError('file too short to be NPY (truncated header)');
  const major = bytes[6] as 1 | 2 | 3;
  const start = major === 1 ? 10 : 12;
  const raw = bytes.subarray(start, total);
  const text = major === 3 ? new TextDecoder('utf-8').decode(raw) : latin1(raw);
  const dict = parseDict(text);
  // numpy refuses any other key ("Header does not contain the correct keys"): so does this.
  for (const key of dict.keys()) {
    if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape') {
      throw new NpyHeaderError(
        `header has an unexpected key ${JSON.stringify(key).replace(/^"|"$/g, "'")} (an NPY header holds descr, fortran_order and shape only)`,
      );
    }
  }
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (Array.isArray(descr)) throw new NpyHeaderError('structured dtype (a record array) is not supported: expected a plain numeric array');
  if (typeof descr !== 'string') throw new NpyHeaderError("header has no 'descr' string");
  if (typeof fortran !== 'boolean') throw new NpyHeaderError("header has no 'fortran_order' True/False");
  // A list ([4, 3, 50]) is not a shape to numpy ("shape is not valid"): only a tuple is.
  if (!Array.isArray(shape) || pythonLists.has(shape) || !shape.every((d) => typeof d === 'number' || typeof d === 'bigint')) {
    throw new NpyHeaderError("header has no 'shape' tuple of integers");
  }
  // Negative dimensions can multiply to the data's element count, and sizes past 2^53 are not exact.
  const bad = shape.findIndex((d) => typeof d !== 'number' || d < 0);
  if (bad >= 0) {
    const written = String(shape[bad]);
    const shown = written.length > 30 ? `${written.slice(0, 20)}... (${written.replace('-', '').length} digits)` : written;
    throw new NpyHeaderError(`dimension ${bad} of the shape is ${shown}: dimensions must be whole numbers >= 0 and at most 2^53 - 1`);
  }
  return { version: major, descr, fortranOrder: fortran, shape: shape as number[], dataOffset: total };
}

/**
 * Header bytes for a C-order array, padded so the data starts on a 64-byte boundary (numpy does
 * the same), and to at least `minLength` bytes (a header written before the shape is known).
 */
export function formatHeader(descr: string, shape: readonly number[], minLength = 0): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  let version: 1 | 2 = 1;
  let pre = 10;
  let len = Math.max(minLength, Math.ceil((pre + dict.length + 1) / 64) * 64);
  if (len - pre > 0xffff) {
    version = 2;
    pre = 12;
    len = Math.ceil((pre + dict.length + 1) / 64) * 64;
  }
  const out = new Uint8Array(len);
  out.set(NPY_MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const body = len - pre;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, body, true);
  else view.setUint32(8, body, true);
  for (let i = 0; i < dict.length; i++) out[pre + i] = dict.charCodeAt(i);
  out.fill(0x20, pre + dict.length, len - 1);
  out[len - 1] = 0x0a;
  return out;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** Integers past 2^53 stay exact as bigint, so that a message can show them as written. */
type PyValue = string | number | bigint | boolean | null | PyValue[] | Map<string, PyValue>;

/** Python's whitespace between tokens (no Unicode spaces: Python would not accept them either). */
const isSpace = (ch: string | undefined): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f';

/** The arrays parsed from Python lists ([...]) rather than tuples ((...)). */
const pythonLists = new WeakSet<PyValue[]>();

/** A small parser for the Python literals numpy writes in headers. */
function parseDict(text: string): Map<string, PyValue> {
  let i = 0;
  const fail = (what: string): never => {
    throw new NpyHeaderError(`malformed header dict (${what} at character ${i}): ${JSON.stringify(text.trim().slice(0, 80))}`);
  };
  const ws = (): void => {
    while (isSpace(text[i])) i++;
  };
  // depth counts the containers open around this value: a hostile header must not exhaust the stack.
  const value = (depth: number): PyValue => {
    ws();
    const ch = text[i];
    if ((ch === '(' || ch === '[' || ch === '{') && depth >= MAX_HEADER_NESTING) fail(`nested deeper than ${MAX_HEADER_NESTING}`);
    if (ch === "'" || ch === '"') {
      const end = text.indexOf(ch, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          if (close === ']') pythonLists.add(items);
          return items;
        }
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    if (ch === '{') {
      i++;
      const map = new Map<string, PyValue>();
      for (;;) {
        ws();
        if (text[i] === '}') {
          i++;
          return map;
        }
        const key = value(depth + 1);
        if (typeof key !== 'string') fail('expected a string key');
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        map.set(key as string, value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail("expected ',' or '}'");
      }
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i));
    if (!m) return fail('unexpected token');
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    const n = BigInt(m[0].replace('L', ''));
    return Number.isSafeInteger(Number(n)) ? Number(n) : n;
  };
  const v = value(0);
  if (!(v instanceof Map)) fail('expected a dict');
  // numpy pads the dict with spaces and a newline; anything else means a damaged or doctored header.
  ws();
  if (i < text.length) {
    throw new NpyHeaderError(`unexpected text after the header dict at character ${i}: ${JSON.stringify(text.slice(i).trimEnd().slice(0, 40))}`);
  }
  return v as Map<string, PyValue>;
}
