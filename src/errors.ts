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
