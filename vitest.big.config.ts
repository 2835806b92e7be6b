import { defineConfig } from 'vitest/config';

// `npm run test:big`: files over 2 and 4 GiB, one at a time (they share the disk and both cores).
export default defineConfig({
  test: {
    include: ['test/big/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
  },
});
