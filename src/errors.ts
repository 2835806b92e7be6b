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

/** Bad input data or files: exit code 2. `where` names the file (and position) at fault. */
export function inputError(where: string, what: string): TsnormError {
  return new TsnormError(`${where}: ${what}`, 2);
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
