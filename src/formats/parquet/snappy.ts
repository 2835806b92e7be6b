import { TsnormError } from '../../errors.js';

/**
 * Snappy's raw format (Parquet's SNAPPY pages): a varint of the uncompressed length, then
 * literals and back-references. A small loop of our own: no package decodes it natively here,
 * and the WebAssembly decoder it stands beside costs more per page than this does.
 */
export function snappyDecompress(src: Uint8Array, expected: number, what: string): Uint8Array {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= src.length || shift > 28) throw corrupt(what);
    const b = src[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (length !== expected) throw corrupt(what);
  const out = new Uint8Array(length);
  let at = 0;
  while (pos < src.length) {
    const tag = src[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >> 2;
      if (n >= 60) {
        const bytes = n - 59;
        if (pos + bytes > src.length) throw corrupt(what);
        n = 0;
        for (let i = 0; i < bytes; i++) n += src[pos + i]! * 2 ** (8 * i);
        pos += bytes;
      }
      n += 1;
      if (pos + n > src.length || at + n > length) throw corrupt(what);
      out.set(src.subarray(pos, pos + n), at);
      pos += n;
      at += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= src.length) throw corrupt(what);
      n = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | src[pos++]!;
    } else if (kind === 2) {
      if (pos + 2 > src.length) throw corrupt(what);
      n = (tag >> 2) + 1;
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > src.length) throw corrupt(what);
      n = (tag >> 2) + 1;
      offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > at || at + n > length) throw corrupt(what);
    // A reference may overlap what it writes (a run): byte by byte then.
    if (offset >= n) out.copyWithin(at, at - offset, at - offset + n);
    else for (let i = 0; i < n; i++) out[at + i] = out[at + i - offset]!;
    at += n;
  }
  if (at !== length) throw corrupt(what);
  return out;
}

function corrupt(what: string): TsnormError {
  return new TsnormError(`corrupt Parquet file: ${what}: invalid snappy data`, 'TSNORM_PARQUET');
}
