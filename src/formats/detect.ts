import path from 'node:path';
import { TsnormError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { NPY_MAGIC } from './npy/header.js';
import type { FormatName } from './types.js';

export const FORMATS: readonly FormatName[] = ['csv', 'tsv', 'npy', 'arrow', 'arrows'];

const EXTENSIONS: Record<string, FormatName> = {
  '.npy': 'npy',
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.arrow': 'arrow',
  '.arrows': 'arrows',
  '.feather': 'arrow',
  '.ipc': 'arrow',
};

export function parseFormat(name: string, flag: string): FormatName {
  const f = name.toLowerCase() as FormatName;
  if (!FORMATS.includes(f)) throw new TsnormError(`${flag}: unknown format '${name}' (expected one of ${FORMATS.join(', ')})`);
  return f;
}

/** The format a path's extension names (a trailing .gz is looked through), if any. */
export function formatFromPath(file: string): FormatName | undefined {
  if (file === '-') return undefined;
  const base = file.toLowerCase().replace(/\.gz$/, '');
  return EXTENSIONS[path.extname(base)];
}

/** The format of the content: NPY or Arrow by their magic bytes, otherwise text (CSV). */
export async function sniffFormat(src: ByteSource): Promise<FormatName> {
  const head = await src.peek(8);
  if (NPY_MAGIC.every((b, i) => head[i] === b)) return 'npy';
  const text = String.fromCharCode(...head.subarray(0, 6));
  if (text === 'ARROW1') return 'arrow';
  // Arrow stream format: a message starts with the continuation marker 0xFFFFFFFF.
  if (head.length >= 4 && head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff) return 'arrows';
  return 'csv';
}
