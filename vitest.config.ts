import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The big-file tests write several GB: `npm run test:big` (vitest.big.config.ts) runs them.
    exclude: ['test/big/**', '**/node_modules/**'],
    // End-to-end tests start the CLI as a child process; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
