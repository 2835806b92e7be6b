import { defineConfig } from 'vitest/config';

// `npm run test:browser`: check's HTML report in a real browser (Debian's chromium, which CI installs).
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
