import fs from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Whether fd is a terminal, without loading node:tty (and the net and stream modules it loads:
 * ~5 ms of every start-up) for what cannot be one: files, pipes, and the memory devices
 * (/dev/null, /dev/zero, /dev/full: character devices of major number 1).
 */
export function isTerminal(fd: number): boolean {
  let stat: fs.Stats;
  try {
    stat = fs.fstatSync(fd);
  } catch {
    return false; // closed
  }
  if (!stat.isCharacterDevice() || stat.rdev >> 8 === 1) return false;
  return (createRequire(import.meta.url)('node:tty') as typeof import('node:tty')).isatty(fd);
}
