/**
 * What kind of error it is, for a program that calls tsnorm (the message is for people, and may
 * be reworded): each is stable, and docs/errors.md lists them with an example.
 */
export const ERROR_CODES = {
  TSNORM_USAGE: 'a flag, an argument or a combination of them that cannot be used',
  TSNORM_CSV: 'CSV/TSV input that cannot be read as the table it claims to be',
  TSNORM_NPY: 'NPY input that cannot be read: its header, dtype, shape or size',
  TSNORM_ARROW: 'Arrow IPC input that cannot be read: a corrupt or truncated file or stream, an unsupported type',
  TSNORM_PARQUET: 'Parquet input that cannot be read: a corrupt or truncated file, a feature out of reach',
  TSNORM_PARAMS: 'a stats, affine or state_dict file, or a parameter (eps, momentum, weight), that cannot be used',
  TSNORM_DATA: 'data the normalization refuses: a missing value with --nan error, a series of one step in training, inputs that disagree',
  TSNORM_OUTPUT: 'a value or a shape the output format cannot hold, or binary data for a terminal',
  TSNORM_IO: 'a file, pipe or device that cannot be opened, read or written',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Errors a user can act on. The CLI prints `message` as one line and exits with `exitCode`;
 * anything else that escapes is a bug and is reported as such. `code` says what kind it is
 * (ERROR_CODES), as csv-parse's CsvError does.
 */
export class TsnormError extends Error {
  // A getter, not an own property: errors compare (and print) by their message and exit code.
  readonly #code: ErrorCode | undefined;

  constructor(
    message: string,
    code?: ErrorCode,
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message);
    this.name = 'TsnormError';
    this.#code = code;
  }

  get code(): ErrorCode | undefined {
    return this.#code;
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
