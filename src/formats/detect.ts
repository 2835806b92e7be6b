import path from 'node:path';
import { TsnormError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { FORMAT_LIST } from './formats.js';
import type { FormatName } from './types.js';

export const FORMATS: readonly FormatName[] = FORMAT_LIST.map((f) => f.name);

const EXTENSIONS: ReadonlyMap<string, FormatName> = new Map(FORMAT_LIST.flatMap((f) => f.extensions.map((ext) => [ext, f.name] as const)));

export function parseFormat(name: string, flag: string): FormatName {
  const f = name.toLowerCase() as FormatName;
  if (!FORMATS.includes(f)) throw new TsnormError(`${flag}: unknown format '${name}' (expected one of ${FORMATS.join(', ')})`, 'TSNORM_USAGE');
  return f;
}

/** The format a path's extension names (a trailing .gz is looked through), if any. */
export function formatFromPath(file: string): FormatName | undefined {
  if (file === '-') return undefined;
  const base = file.toLowerCase().replace(/\.gz$/, '');
  return EXTENSIONS.get(path.extname(base));
}

/** The format of the content: the first whose magic bytes it starts with, otherwise text (CSV). */
export async function sniffFormat(src: ByteSource): Promise<FormatName> {
  const head = await src.peek(8);
  return FORMAT_LIST.find((f) => f.sniff?.(head))?.name ?? 'csv';
}
