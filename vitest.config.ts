import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The big-file tests (several GB, `npm run test:big`) the single executable (`npm run test:exe`), zsh/fish (`npm run test:shells`) and the browser (`npm run test:browser`) have their own runs.
    exclude: ['test/big/**', 'test/exe/**', 'test/shells/**', 'test/browser/**', '**/node_modules/**'],
    // End-to-end tests start the CLI as a child process; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
