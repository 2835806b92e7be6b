/**
 * Errors a user can act on. The CLI prints `message` as one line and exits with `exitCode`;
 * anything else that escapes is a bug and is reported as such.
 */
export class TsnormError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message);
    this.name = 'TsnormError';
  }
}

/**
 * The promise, marked as handled: work started ahead (a prefetch, a write in flight) that nobody
 * awaits because another error stopped the run must not end the process as an unhandled
 * rejection. Awaiting it still sees its error.
 */
export function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * What each system error code means, in tsnorm's words: Node's own texts ("ENOTDIR: not a
 * directory, open '...'") name the code, the call and the path, and vary between versions.
 */
const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, expected a file',
  ENOTDIR: 'a component of the path is not a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for this file system',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  ENXIO: 'no such device or address (a socket, or a FIFO or device with nothing on the other end)',
  ENODEV: 'no such device',
  EPERM: 'operation not permitted',
  EBUSY: 'device or resource busy',
  ETXTBSY: 'file busy',
  EXDEV: 'on another file system',
  EINVAL: 'invalid argument (the file system or device does not support this)',
  ESPIPE: 'cannot seek (a pipe or a socket)',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'out of memory',
  EPIPE: 'broken pipe (the reader went away)',
  ECONNRESET: 'connection reset by the other end',
  ETIMEDOUT: 'timed out',
  ESTALE: 'stale file handle (a network file system)',
};

/** A failed system call's error as a short phrase that is the same on every Node. */
export function systemErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code !== undefined && Object.hasOwn(SYSTEM_ERRORS, code)) return SYSTEM_ERRORS[code]!;
  if (code !== undefined && /^E[A-Z0-9]+$/.test(code)) return `system error ${code}${typeof e?.syscall === 'string' ? ` (${e.syscall})` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text as one safe line for a terminal: line breaks, control characters (ESC, NUL, C1) and
 * invisible direction overrides taken from input files or paths are shown as escapes, so that a
 * cell or a file name can neither split an error line nor send control codes to the terminal.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (ch) => {
    const code = ch.charCodeAt(0);
    return ESCAPES[ch] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}
