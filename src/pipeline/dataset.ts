import fs from 'node:fs';
import path from 'node:path';
import { TsnormError } from '../errors.js';
import { formatFromPath } from '../formats/detect.js';

/**
 * The inputs of a command line as files: a folder stands for every file under it that tsnorm
 * reads (by extension), recursively, in sorted path order; a quoted glob (`'data/*.parquet'`,
 * `'logs/**' + '/x.csv'`) for the files it matches, sorted. Each file keeps the path relative to
 * what named it, which is where its output goes under an output folder.
 */

export interface DatasetFile {
  readonly path: string;
  /** Where its output goes under an output folder: its path under the folder or the glob's fixed part; a file named alone, its base name. */
  readonly relative: string;
}

export interface Dataset {
  readonly files: readonly DatasetFile[];
  /** Files under the folders (or matching the globs) that tsnorm does not read, with their relative paths. */
  readonly others: readonly DatasetFile[];
  /** Whether an argument named a folder or a glob, or there were several: outputs then go to a folder. */
  readonly many: boolean;
  /** The folders walked (outputs must not land in them). */
  readonly roots: readonly string[];
}

/** Wildcards: `*`, `?`, or a `[...]` class (a lone `[` is a character of a name). */
const GLOB = /[*?]|\[[^\]/]+\]/;

/** Expands the command line's inputs; `-` and plain files stay as they are. */
export function expandInputs(args: readonly string[]): Dataset {
  const files: DatasetFile[] = [];
  const others: DatasetFile[] = [];
  const roots: string[] = [];
  let many = args.length > 1;
  for (const arg of args) {
    if (arg === '-') {
      files.push({ path: arg, relative: '-' });
      continue;
    }
    const stat = statOf(arg);
    if (stat?.isDirectory()) {
      many = true;
      roots.push(arg);
      const found = walk(arg);
      if (found.read.length === 0) throw new TsnormError(`${arg}: a folder with no file tsnorm reads (${knownExtensions()})`, 'TSNORM_USAGE');
      files.push(...found.read);
      others.push(...found.others);
    } else if (stat === undefined && GLOB.test(arg)) {
      many = true;
      const base = globBase(arg);
      roots.push(base);
      const matcher = globRegExp(base === '.' ? arg.replace(/^\.\//, '') : arg.slice(base.length).replace(/^\//, ''));
      const found = walk(base, (rel) => matcher.test(rel));
      if (found.read.length === 0) throw new TsnormError(`${arg}: matches no file tsnorm reads`, 'TSNORM_USAGE');
      files.push(...found.read);
      others.push(...found.others);
    } else {
      // A file (or a path that does not exist: opening it says so, as for one input).
      files.push({ path: arg, relative: path.basename(arg) });
    }
  }
  return { files, others, many, roots };
}

function statOf(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Files under `root` in sorted order of their relative paths (by code unit, as `sort` with
 * LC_ALL=C): those of a format tsnorm reads, and the others. Hidden files and folders (`.git`,
 * `.DS_Store`) are left alone, as Spark's `_SUCCESS` markers are counted as others. Links to
 * folders are not followed (a loop would never end).
 */
function walk(root: string, matches: (relative: string) => boolean = () => true): { read: DatasetFile[]; others: DatasetFile[] } {
  const read: DatasetFile[] = [];
  const others: DatasetFile[] = [];
  const visit = (dir: string, prefix: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new TsnormError(`${dir}: cannot list the folder: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'TSNORM_IO');
    }
    for (const e of entries.filter((x) => !x.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, e.name);
      const relative = prefix === '' ? e.name : `${prefix}/${e.name}`;
      if (e.isDirectory()) visit(full, relative);
      else if (e.isFile() || (e.isSymbolicLink() && statOf(full)?.isFile())) {
        if (!matches(relative)) continue;
        (formatFromPath(full) === undefined ? others : read).push({ path: full, relative });
      }
    }
  };
  visit(root, '');
  return { read, others };
}

function knownExtensions(): string {
  return '.csv, .tsv, .npy, .arrow, .arrows, .feather, .parquet, ...';
}

/** The folders of a glob before its first wildcard: where the walk starts. */
function globBase(glob: string): string {
  const parts = glob.split('/');
  const fixed: string[] = [];
  for (const part of parts.slice(0, -1)) {
    if (GLOB.test(part)) break;
    fixed.push(part);
  }
  if (fixed.length === 0) return glob.startsWith('/') ? '/' : '.';
  return fixed.join('/') || '/';
}

/** A glob as a regular expression over relative paths: `*` and `?` within a name, `**` across folders, `[...]` a class. */
function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches no folder or any number of them.
      if (glob[i + 2] === '/') {
        re += '(?:[^/]+/)*';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
