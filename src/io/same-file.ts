import fs from 'node:fs';
import path from 'node:path';
import { TsnormError } from '../errors.js';

/** A file a run reads or writes, under the flag that named it. */
export interface FileRole {
  readonly role: 'input' | 'output' | 'stats' | 'affine' | 'save-stats';
  /** How the user named it: `INPUT`, `-o`, `--stats`, ... */
  readonly flag: string;
  readonly path: string;
}

/**
 * What a path stands for, compared by identity rather than by spelling: the device and inode of
 * an existing regular file (so links, `./x` and `$PWD/x` are the same file), else the resolved
 * place where it would be created. Devices, FIFOs and stdin/stdout have none: writing to them
 * destroys nothing.
 */
export function fileIdentity(file: string): string | undefined {
  if (file === '-') return undefined;
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st) return st.isFile() ? `inode:${st.dev}:${st.ino}` : undefined;
  const full = path.resolve(file);
  let dir = path.dirname(full);
  try {
    dir = fs.realpathSync(dir);
  } catch {
    // The folder does not exist: the output's own check says so.
  }
  return `new:${path.join(dir, path.basename(full))}`;
}

/** Pairs that may name one file: writing the output over its input (in place) and saving stats over the stats read. */
function allowed(a: FileRole, b: FileRole, sameAsStats: (r: FileRole) => boolean): boolean {
  const pair = new Set([a.role, b.role]);
  if (pair.size === 1) return a.role === 'input' || a.role === 'stats' || a.role === 'affine';
  if (pair.has('output') && pair.has('input')) return true;
  if (pair.has('save-stats') && pair.has('stats')) return true;
  // --affine and --stats may be one file (a state_dict); saving over it is then saving over --stats.
  if (pair.has('stats') && pair.has('affine')) return true;
  if (pair.has('save-stats') && pair.has('affine')) return sameAsStats(a.role === 'affine' ? a : b);
  // Reading the data and the parameters from one file is odd but destroys nothing.
  return !(pair.has('output') || pair.has('save-stats'));
}

/**
 * Refuses runs whose outputs would replace a file they also read or write otherwise: the
 * normalized output over the stats file, the stats over the input data, and so on.
 */
export function checkDistinctFiles(roles: readonly FileRole[]): void {
  const ids = roles.map((r) => fileIdentity(r.path));
  const stats = roles.findIndex((r) => r.role === 'stats');
  const sameAsStats = (r: FileRole): boolean => stats >= 0 && ids[stats] !== undefined && ids[stats] === ids[roles.indexOf(r)];
  for (let i = 0; i < roles.length; i++) {
    for (let j = i + 1; j < roles.length; j++) {
      if (ids[i] === undefined || ids[i] !== ids[j]) continue;
      const a = roles[i]!;
      const b = roles[j]!;
      if (allowed(a, b, sameAsStats)) continue;
      const [written, other] = a.role === 'output' || (a.role === 'save-stats' && b.role !== 'output') ? [a, b] : [b, a];
      const same = a.path === b.path ? `'${a.path}'` : `'${a.path}' and '${b.path}' (the same file)`;
      throw new TsnormError(`${written.flag} and ${other.flag} name ${same}: writing ${written.flag} would destroy it; choose another file`);
    }
  }
}
