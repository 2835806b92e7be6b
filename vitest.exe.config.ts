import { defineConfig } from 'vitest/config';

// `npm run test:exe`: builds the single executable (about 100 MB) and runs it alone.
export default defineConfig({
  test: {
    include: ['test/exe/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
  },
});
