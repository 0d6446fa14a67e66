import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The oracle tests spawn gcc/as/ld and Unicorn runs are CPU-bound: keep
    // the pool small so a 2-core CI machine is not oversubscribed.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
