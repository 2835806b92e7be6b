import fs from 'node:fs';
import path from 'node:path';
import { TsnormError } from '../errors.js';
import { danglingTarget, ownDescriptor, statIfExists } from './byte-sink.js';

/** A file a run reads or writes, under the flag that named it. */
export interface FileRole {
  readonly role: 'input' | 'output' | 'stats' | 'affine' | 'save-stats' | 'report';
  /** How the user named it: `INPUT`, `-o`, `--stats`, ... */
  readonly flag: string;
  readonly path: string;
}

/** What a path stands for (`key`), and whether it is written as it goes rather than replaced at the end. */
export interface FileIdentity {
  readonly key: string;
  readonly direct: boolean;
}

/**
 * What a path stands for, compared by identity rather than by spelling: the device and inode of
 * an existing regular file (so links, `./x` and `$PWD/x` are the same file), else the resolved
 * place where it would be created. stdin/stdout (`-`, /dev/stdout, /dev/fd/N) stand for the file
 * they are redirected to, if a regular one; stdout otherwise stands for itself (two outputs to
 * it would mix). Devices and FIFOs have none: writing to them destroys nothing.
 */
export function fileIdentity(file: string, role: FileRole['role']): FileIdentity | undefined {
  const fd = file === '-' ? (role === 'input' ? 0 : 1) : ownDescriptor(file);
  try {
    if (fd !== undefined) {
      const st = fs.fstatSync(fd);
      if (st.isFile()) return { key: `inode:${st.dev}:${st.ino}`, direct: true };
      return fd === 0 ? undefined : { key: `fd:${fd}`, direct: true };
    }
    const st = statIfExists(file);
    if (st) return st.isFile() ? { key: `inode:${st.dev}:${st.ino}`, direct: false } : undefined;
  } catch {
    return undefined; // a path that cannot be looked at (ENOTDIR, ELOOP): opening it says why
  }
  // A new file, or a link to one: where it would be created (a dangling link's target).
  const full = danglingTarget(file);
  let dir = path.dirname(full);
  try {
    dir = fs.realpathSync(dir);
  } catch {
    // The folder does not exist: the output's own check says so.
  }
  return { key: `new:${path.join(dir, path.basename(full))}`, direct: false };
}

/**
 * Pairs that may name one file: the output over its input when it replaces it at the end (in
 * place; not when written as it goes, as to stdout), and the stats saved over the stats read.
 */
function allowed(a: FileRole, b: FileRole, ids: { a: FileIdentity; b: FileIdentity }, sameAsStats: (r: FileRole) => boolean): boolean {
  const pair = new Set([a.role, b.role]);
  // A report (check --report) replaces nothing: not an input, not the stats, not another report.
  if (pair.has('report')) return false;
  if (pair.size === 1) return a.role === 'input' || a.role === 'stats' || a.role === 'affine';
  if (pair.has('output') && pair.has('input')) return !(a.role === 'output' ? ids.a : ids.b).direct;
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
  const ids = roles.map((r) => fileIdentity(r.path, r.role));
  const stats = roles.findIndex((r) => r.role === 'stats');
  const sameAsStats = (r: FileRole): boolean => stats >= 0 && ids[stats] !== undefined && ids[stats]?.key === ids[roles.indexOf(r)]?.key;
  for (let i = 0; i < roles.length; i++) {
    for (let j = i + 1; j < roles.length; j++) {
      const ia = ids[i];
      const ib = ids[j];
      if (ia === undefined || ib === undefined || ia.key !== ib.key) continue;
      const a = roles[i]!;
      const b = roles[j]!;
      if (allowed(a, b, { a: ia, b: ib }, sameAsStats)) continue;
      const shown = (r: FileRole) => (r.path === '-' ? (r.role === 'input' ? 'stdin' : 'stdout') : `'${r.path}'`);
      const writes = (r: FileRole) => r.role === 'output' || r.role === 'save-stats' || r.role === 'report';
      const [first, second] = writes(a) || !writes(b) ? [a, b] : [b, a];
      // Flags and paths in the same order: "-o and INPUT name 'x' and 'y' (the same file)".
      const same = shown(first) === shown(second) ? shown(first) : `${shown(first)} and ${shown(second)} (the same file)`;
      if (writes(first) && writes(second))
        throw new TsnormError(
          `${first.flag} and ${second.flag} both write to ${same}: the one would overwrite or mix with the other; give them different files`,
          'TSNORM_USAGE',
        );
      const what = second.role === 'input' ? 'the input' : `the ${second.flag} file`;
      throw new TsnormError(`${first.flag} and ${second.flag} name ${same}: writing ${first.flag} would destroy ${what}; choose another file`, 'TSNORM_USAGE');
    }
  }
}
