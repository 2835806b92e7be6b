import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Temporary files a killed run left behind. A run removes its temporary files on every way out
 * it sees (exit, error, SIGINT/SIGTERM/SIGHUP), but `kill -9`, the OOM killer or a power cut end
 * it without a word, and its output's `.tsnorm-*.tmp` beside the output (or its scratch folder
 * in $TMPDIR) would stay forever. Linux offers no way out from Node (an O_TMPFILE file needs
 * linkat with AT_EMPTY_PATH to be given a name, which Node's fs does not have), so each name
 * carries its owner, and a later run that writes to the same folder removes what it can prove
 * dead:
 *
 * - the owner is (host, boot, pid namespace, pid, the process's start time); the host, boot and
 *   namespace as short hashes of os.hostname() with /etc/machine-id, of
 *   /proc/sys/kernel/random/boot_id and of /proc/self/ns/pid;
 * - a file of another host is never touched (a shared network folder); one of this host but of
 *   another boot is dead when it was last written before this boot began (two machines that
 *   share a name and a folder each see the other's live files as of another boot, but written
 *   since); one of this boot and pid namespace is dead when no process has its pid, or the one
 *   that has it started at another time (the pid was reused). A file of another pid namespace (a
 *   container) is left alone: its pids mean nothing here;
 * - only regular files (output temporaries) and folders (scratch folders) owned by this user are
 *   removed, never what a link points to.
 *
 * Where /proc cannot tell (not Linux, or a pid namespace whose /proc is another's), names carry
 * no owner and nothing is ever removed.
 */

export interface Owner {
  host: string;
  boot: string;
  ns: string;
  pid: number;
  start: string;
}

let self: Owner | null | undefined;

/** This process as an owner, or null where /proc cannot describe it. */
export function thisOwner(): Owner | null {
  if (self !== undefined) return self;
  try {
    // /proc of another pid namespace (unshare --pid without a new /proc) would judge pids wrongly.
    if (fs.readlinkSync('/proc/self') !== String(process.pid)) return (self = null);
    let machine = '';
    try {
      machine = fs.readFileSync('/etc/machine-id', 'latin1').trim();
    } catch {
      /* none: the host name alone */
    }
    self = {
      host: shortHash(`${os.hostname()}\n${machine}`),
      boot: shortHash(fs.readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim()),
      ns: shortHash(fs.readlinkSync('/proc/self/ns/pid')),
      pid: process.pid,
      start: startTime('self') ?? '',
    };
    if (self.start === '') self = null;
  } catch {
    self = null;
  }
  return self;
}

/** The owner part of a temporary file's name: `host.boot.ns.pid.start`. */
export function ownerTag(owner: Owner): string {
  return `${owner.host}.${owner.boot}.${owner.ns}.${owner.pid}.${owner.start}`;
}

const TAG = String.raw`([0-9a-f]{6})\.([0-9a-f]{6})\.([0-9a-f]{6})\.(\d{1,10})\.(\d{1,20})`;
/** An output's temporary file beside it (io/temp-files.ts names them so). */
export const SIBLING_NAME = new RegExp(`^\\.tsnorm-${TAG}\\.[a-z0-9]{1,16}\\.tmp$`);
/** A scratch folder in $TMPDIR (mkdtemp's six characters after the tag). */
export const SCRATCH_NAME = new RegExp(`^tsnorm-${TAG}\\.[A-Za-z0-9]{6}$`);

/**
 * Whether the owner named by a file last written at `writtenMs` is certainly gone, as `me` sees
 * it (`bootMs`: when this boot began; NaN when unknown).
 */
export function isDeadOwner(
  name: RegExpExecArray,
  me: Owner,
  writtenMs: number,
  bootMs: number = bootTime(),
  processStart: (pid: number) => string | undefined | null = startTimeOf,
): boolean {
  const [, host, boot, ns, pid, start] = name;
  if (host !== me.host) return false;
  if (boot !== me.boot) return writtenMs < bootMs;
  if (ns !== me.ns) return false;
  if (Number(pid) === me.pid) return start !== me.start;
  const now = processStart(Number(pid));
  // undefined: no such process. null: it exists but cannot be read (another user's): alive.
  return now === undefined || (now !== null && now !== start);
}

/**
 * Removes the dead owners' temporary files of `kind` in `dir`. Best effort: a file that cannot
 * be looked at or removed is left, and nothing here fails a run.
 */
export function removeStaleTemps(dir: string, kind: 'sibling' | 'scratch'): number {
  const me = thisOwner();
  if (me === null) return 0;
  const pattern = kind === 'sibling' ? SIBLING_NAME : SCRATCH_NAME;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  const uid = process.getuid?.();
  for (const name of names) {
    const m = pattern.exec(name);
    if (m === null) continue;
    const p = path.join(dir, name);
    try {
      const st = fs.lstatSync(p);
      if (!isDeadOwner(m, me, st.mtimeMs)) continue;
      if (uid !== undefined && st.uid !== uid) continue;
      if (kind === 'sibling' && st.isFile()) fs.unlinkSync(p);
      else if (kind === 'scratch' && st.isDirectory()) fs.rmSync(p, { recursive: true, force: true });
      else continue;
      removed++;
    } catch {
      // Gone meanwhile, or not ours to remove.
    }
  }
  return removed;
}

let boot: number | undefined;

/** When this boot began, in ms since the epoch (/proc/stat's btime); NaN when unknown. */
function bootTime(): number {
  if (boot === undefined) {
    try {
      const found = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'latin1'));
      boot = found ? Number(found[1]) * 1000 : NaN;
    } catch {
      boot = NaN;
    }
  }
  return boot;
}

/** The start time (clock ticks since boot) of a process: undefined when there is none, null when unreadable. */
export function startTimeOf(pid: number): string | undefined | null {
  try {
    return startTime(String(pid)) ?? null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : null;
  }
}

/** Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses. */
function startTime(pid: string): string | undefined {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/** Six hex digits of FNV-1a: names, not security (the files are created with O_EXCL). */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) & 0xffffff).toString(16).padStart(6, '0');
}
