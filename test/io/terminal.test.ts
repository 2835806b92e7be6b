import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTerminal } from '../../src/io/terminal.js';
import { ROOT, tempDir } from '../helpers/cli.js';

// isTerminal answers without node:tty for what cannot be a terminal; a real one is still seen.

describe('isTerminal', () => {
  it('a file, a pipe, /dev/null, /dev/zero and a closed descriptor are not terminals', () => {
    const tmp = tempDir();
    try {
      const fds = [fs.openSync(path.join(tmp.dir, 'f'), 'w'), fs.openSync('/dev/null', 'r'), fs.openSync('/dev/zero', 'r')];
      for (const fd of fds) expect(isTerminal(fd)).toBe(false);
      for (const fd of fds) fs.closeSync(fd);
      expect(isTerminal(fds[0]!)).toBe(false);
    } finally {
      tmp.cleanup();
    }
  });

  it('a pseudo-terminal is one (script(1) runs node with its stdout on a pty)', () => {
    // The built module (npm test builds first), imported by a node whose stdout is the pty.
    const code = `import(${JSON.stringify(path.join(ROOT, 'dist/io/terminal.js'))}).then((m) => process.stdout.write(String(m.isTerminal(1))))`;
    const r = spawnSync('script', ['-qec', `${process.execPath} -e ${JSON.stringify(code)}`, '/dev/null'], { encoding: 'utf8' });
    expect(r.status, `script(1) is needed (util-linux): ${r.stderr}`).toBe(0);
    expect(r.stdout.trim()).toBe('true');
  });
});
