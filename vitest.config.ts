import os from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The big-file tests (several GB, `npm run test:big`) the single executable (`npm run test:exe`), zsh/fish (`npm run test:shells`) and the browser (`npm run test:browser`) have their own runs.
    exclude: ['test/big/**', 'test/exe/**', 'test/shells/**', 'test/browser/**', '**/node_modules/**'],
    // End-to-end tests mostly wait for the CLI they start as a child process: a worker per core,
    // two at the least (vitest's default leaves one core idle).
    maxWorkers: Math.max(2, os.availableParallelism()),
    // Room for a child process on a busy 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
