import { defineConfig } from 'vitest/config';

// `npm run test:shells`: completion in real zsh and fish (CI installs both).
export default defineConfig({
  test: {
    include: ['test/shells/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
