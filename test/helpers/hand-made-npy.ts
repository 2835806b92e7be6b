/**
 * NPY bytes written by hand around a header dict given as text, so that a test can make the
 * header anything a damaged or hostile file might hold (the project's writer only writes valid ones).
 */
export function handMadeNpy(dict: string, options: { major?: number; minor?: number; padding?: string; data?: Uint8Array } = {}): Buffer {
  const major = options.major ?? 1;
  const preamble = major === 1 ? 10 : 12;
  const padding = options.padding ?? ' '.repeat((64 - ((preamble + dict.length + 1) % 64)) % 64) + '\n';
  const body = Buffer.from(dict + padding, 'latin1');
  const out = Buffer.alloc(preamble + body.length + (options.data?.length ?? 0));
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, options.minor ?? 0]);
  if (major === 1) out.writeUInt16LE(body.length, 8);
  else out.writeUInt32LE(body.length, 8);
  out.set(body, preamble);
  if (options.data) out.set(options.data, preamble + body.length);
  return out;
}

/** The header dict numpy writes, with `shape` given as Python text, e.g. '(4, 3, 50)'. */
export const headerDict = (shape: string, descr = '<f4'): string => `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
